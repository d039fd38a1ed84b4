#include "support/codec_roundtrip.h"

#include <algorithm>
#include <string>

#include "zarrpp/json.h"

namespace zarrpp::test {

Bytes TestBytes(size_t n, uint32_t seed) {
  Bytes out(n);
  uint32_t x = seed * 2654435761u + 12345u;
  size_t i = 0;
  while (i < n) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    // Alternate short runs of one value with short stretches of noise.
    const size_t len = 1 + (x & 15);
    const bool run = (x >> 8) & 1;
    for (size_t k = 0; k < len && i < n; ++k, ++i) {
      if (!run) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
      }
      out[i] = static_cast<uint8_t>(x >> 16);
    }
  }
  return out;
}

Bytes TestChunk(DataType dtype, uint64_t num_elements, uint32_t seed) {
  Bytes b = TestBytes(num_elements * dtype.size(), seed);
  if (dtype.id() == DataTypeId::kBool) {
    for (uint8_t& v : b) v &= 1;
  }
  return b;
}

ChunkSpec MakeSpec(DataType dtype, std::vector<uint64_t> shape) {
  return ChunkSpec{std::move(shape), dtype, FillValue::Zero(dtype)};
}

std::vector<DataType> AllDataTypes() {
  return {DataType(DataTypeId::kBool),       DataType(DataTypeId::kInt8),
          DataType(DataTypeId::kInt16),      DataType(DataTypeId::kInt32),
          DataType(DataTypeId::kInt64),      DataType(DataTypeId::kUInt8),
          DataType(DataTypeId::kUInt16),     DataType(DataTypeId::kUInt32),
          DataType(DataTypeId::kUInt64),     DataType(DataTypeId::kFloat16),
          DataType(DataTypeId::kFloat32),    DataType(DataTypeId::kFloat64),
          DataType(DataTypeId::kComplex64),  DataType(DataTypeId::kComplex128),
          DataType(DataTypeId::kRawBits, 2), DataType(DataTypeId::kRawBits, 3)};
}

namespace {

::testing::AssertionResult Fail(const Status& s, std::string_view step) {
  return ::testing::AssertionFailure() << step << ": " << s;
}

}  // namespace

::testing::AssertionResult ChainRoundTrips(const Json& codecs, const ChunkSpec& spec,
                                           ByteView chunk) {
  auto chain = CodecChain::FromJson(codecs);
  if (!chain.ok()) return Fail(chain.status(), "FromJson " + codecs.dump());
  auto prepared = chain->Prepare(spec);
  if (!prepared.ok()) return Fail(prepared.status(), "Prepare " + codecs.dump());
  ChainScratch scratch;
  Bytes first_encoding;
  for (int round = 0; round < 2; ++round) {
    auto encoded = (*prepared)->Encode(chunk, scratch);
    if (!encoded.ok()) return Fail(encoded.status(), "Encode " + codecs.dump());
    Bytes stored(encoded->begin(), encoded->end());
    if (auto size = (*prepared)->encoded_size(); size && *size != stored.size()) {
      return ::testing::AssertionFailure() << codecs.dump() << ": encoded_size() " << *size
                                           << " but Encode gave " << stored.size() << " bytes";
    }
    if (round == 0) {
      first_encoding = stored;
    } else if (stored != first_encoding) {
      return ::testing::AssertionFailure() << codecs.dump() << ": encoding is not deterministic";
    }
    Bytes decoded(chunk.size(), 0xA5);
    Status s = (*prepared)->Decode(stored, decoded, scratch);
    if (!s.ok()) return Fail(s, "Decode " + codecs.dump());
    if (!std::equal(decoded.begin(), decoded.end(), chunk.begin(), chunk.end())) {
      return ::testing::AssertionFailure()
             << codecs.dump() << ": decoded bytes differ from the input (round " << round << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult BytesCodecRoundTrips(const BytesToBytesCodec& codec, ByteView input) {
  const std::string who(codec.name());
  Bytes encoded;
  Status s = codec.Encode(input, encoded);
  if (!s.ok()) return Fail(s, who + " Encode");
  if (auto size = codec.EncodedSize(input.size()); size && *size != encoded.size()) {
    return ::testing::AssertionFailure()
           << who << ": EncodedSize " << *size << " but Encode gave " << encoded.size() << " bytes";
  }
  for (bool known : {true, false}) {
    Bytes scratch;
    auto decoded = codec.Decode(
        encoded, known ? std::optional<uint64_t>(input.size()) : std::nullopt, scratch);
    if (!decoded.ok()) return Fail(decoded.status(), who + (known ? " Decode" : " Decode(size?)"));
    if (!std::equal(decoded->begin(), decoded->end(), input.begin(), input.end())) {
      return ::testing::AssertionFailure()
             << who << ": Decode (size " << (known ? "known" : "unknown") << ") differs";
    }
  }
  Bytes out(input.size(), 0xA5);
  s = codec.DecodeInto(encoded, out);
  if (!s.ok()) return Fail(s, who + " DecodeInto");
  if (!std::equal(out.begin(), out.end(), input.begin(), input.end())) {
    return ::testing::AssertionFailure() << who << ": DecodeInto differs";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace zarrpp::test
