// Several processes racing to create the same array: the store, not luck, must decide the winner.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "zarrpp/status.h"
#include "zarrpp/store.h"

namespace zarrpp::test_support {

struct CreateRaceOutcome {
  int created = 0;         // processes whose Array::Create succeeded
  int already_exists = 0;  // processes that got AlreadyExists
  int failed = 0;          // processes that failed otherwise (their errors went to stderr)
};

// Forks `processes` children. Each opens its own store with `open` (in the child, after the
// fork) and, once all are ready, calls Array::Create of a small Zarr v3 array at `path` without
// overwrite, all released at the same instant. Returns how the children ended.
CreateRaceOutcome RaceArrayCreation(const std::function<Result<std::shared_ptr<Store>>()>& open,
                                    const std::string& path, int processes);

}  // namespace zarrpp::test_support
