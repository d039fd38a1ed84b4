// A small hierarchy that exercises what object stores must carry: a group with attributes, a
// W1-style float32 array (blosc), a sharded array (crc32c index at the end) written in full and
// then partially, a nested int32 array with missing chunks, and a Zarr v2 array.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp::test_support {

// The array paths WriteSampleTree creates, sorted.
std::vector<std::string> SampleTreeArrays();

// Writes the sample tree under the store's root (the store must be empty).
Status WriteSampleTree(const std::shared_ptr<Store>& store);

// The digest (zarrpp/digest.h) of each array of `paths`, each read by its own path, so a store
// that cannot list works too. Any entry with an error fails the call.
Result<std::map<std::string, std::string>> DigestArrays(const std::shared_ptr<Store>& store,
                                                        const std::vector<std::string>& paths);

}  // namespace zarrpp::test_support
