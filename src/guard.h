// src/guard.h - turns exceptions into Status values at the public API boundary.
//
// zarrpp code does not throw, but the standard library and nlohmann::json do (std::bad_alloc
// when memory runs out, std::length_error, json type errors). Public entry points that allocate
// in proportion to their input run their body through Guard, so no exception crosses the API.
#pragma once

#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "zarrpp/json.h"
#include "zarrpp/status.h"

namespace zarrpp::internal {

// The Status for an exception caught while doing `what`.
inline Status StatusFromCurrentException(std::string_view what) {
  const std::string w(what);
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return Status::IOError(w + ": out of memory");
  } catch (const std::length_error& e) {
    return Status::IOError(w + ": out of memory (" + e.what() + ")");
  } catch (const std::exception& e) {
    return Status::IOError(w + ": unexpected error: " + e.what());
  } catch (...) {
    return Status::IOError(w + ": unexpected error");
  }
}

// Runs `f` (returning Status or Result<T>), turning any exception into an IOError naming `what`.
template <typename F>
auto Guard(std::string_view what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (...) {
    return StatusFromCurrentException(what);
  }
}

// Guard whose description is built by `what()` only when an exception is caught, for calls
// cheap enough that building it up front would cost more than the call (small reads).
template <typename What, typename F>
auto GuardLazy(const What& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (...) {
    return StatusFromCurrentException(what());
  }
}

}  // namespace zarrpp::internal
