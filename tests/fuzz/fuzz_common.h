// tests/fuzz/fuzz_common.h - what the libFuzzer harnesses share: small limits, so that a finding
// is a bug and not the fuzzer asking for the memory the limits are there to refuse.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

#include "zarrpp/array.h"
#include "zarrpp/memory_store.h"
#include "zarrpp/status.h"

namespace zarrpp::fuzz {

inline ArrayOptions SmallOptions() {
  ArrayOptions o;
  o.executor = InlineExecutor();
  o.max_decoded_chunk_bytes = uint64_t{1} << 20;
  o.max_inner_chunks_per_shard = 4096;
  return o;
}

// Status codes a hostile input may produce; anything else (or a crash) is a finding.
inline void CheckExpected(const Status& s) {
  if (s.ok() || s.IsInvalidArgument() || s.IsUnsupported() || s.IsCorruption() || s.IsNotFound() ||
      s.IsFailedPrecondition()) {
    return;
  }
  std::fprintf(stderr, "unexpected status: %s\n", s.ToString().c_str());
  std::abort();
}

// Reads at most `max_elements` elements of `a` from its origin (every chunk in the box, so every
// stored chunk the box touches goes through the codec chain).
inline void ReadFront(const Array& a, uint64_t max_elements) {
  Region r = Region::All(a.shape());
  uint64_t n = 1;
  for (size_t d = r.rank(); d-- > 0;) {
    const uint64_t room = n == 0 ? 0 : max_elements / n;
    if (r.shape[d] > room) r.shape[d] = room;
    n *= r.shape[d];
  }
  Bytes out(n * a.data_type().size());
  CheckExpected(a.Read(r, out));
}

}  // namespace zarrpp::fuzz
