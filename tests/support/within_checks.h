// tests/support/within_checks.h - checks of Store::get_within and Store::get_within_async shared
// by the store tests (tests/async_within_test.cc, the S3 tests).
#pragma once

#include <cstddef>

#include "zarrpp/store.h"

namespace zarrpp::test_support {

// Stores values of `size` bytes under "within/..." and reads them with get_within() and
// get_within_async() into pieces that hold more, exactly as much, and less than the value, and a
// missing key and a bad key: a value that fits lands in the front of the pieces (the rest left
// as it was), a larger one writes nothing and gives its size, a missing one nullopt. Every answer
// is asserted (gtest failures).
void WithinChecks(Store& store, size_t size);
// The same for a store that cannot write (HttpStore): the values are written through `writer`,
// which `store` reads.
void WithinChecks(Store& writer, Store& store, size_t size);

}  // namespace zarrpp::test_support
