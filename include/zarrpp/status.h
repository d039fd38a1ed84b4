// zarrpp/status.h - the one error currency of zarrpp.
//
// Every fallible zarrpp call returns a Status or a Result<T>. No exception crosses the public API.
// A Status is either OK or carries a Code chosen for what the caller will do next, and a message
// that names the key or path, the field, and both values when two disagree.
//
// Absent is a value, not an error: a missing key is an empty optional, a missing chunk reads as the
// fill value. NotFound is for things the caller asked for by name that must exist (an array path).
//
// Thread safety: Status and Result are values; distinct objects may be used from distinct threads.
#pragma once

#include <cassert>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace zarrpp {

class Status {
 public:
  enum class Code : int {
    kOk = 0,
    kNotFound,            // a named node/array/path does not exist
    kInvalidArgument,     // the caller's input is wrong (region out of bounds, bad key, bad option)
    kCorruption,          // stored bytes are wrong (checksum mismatch, truncated chunk, bad index)
    kUnsupported,         // valid Zarr we do not implement (unknown codec, storage transformer)
    kIOError,             // the operating system or the store failed
    kAlreadyExists,       // refusing to overwrite an existing node
    kFailedPrecondition,  // the state does not allow the operation (read-only store, wrong node
                          // type)
    kPermissionDenied,    // the store refused the caller's credentials (S3 403, EACCES)
  };

  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return {}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsUnsupported() const { return code_ == Code::kUnsupported; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsAlreadyExists() const { return code_ == Code::kAlreadyExists; }
  bool IsFailedPrecondition() const { return code_ == Code::kFailedPrecondition; }
  bool IsPermissionDenied() const { return code_ == Code::kPermissionDenied; }

  // Returns a copy whose message is "<context>: <message>". OK stays OK.
  Status WithContext(std::string_view context) const {
    if (ok()) return *this;
    std::string m(context);
    m += ": ";
    m += message_;
    return {code_, std::move(m)};
  }

  // "Corruption: <message>", or "OK".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

std::string_view CodeName(Status::Code code);
std::ostream& operator<<(std::ostream& os, const Status& s);

// Result<T> holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error, or OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
// A temporary Status is moved, not copied: checking an OK result costs no string copy.
inline Status AsStatus(Status&& s) {
  return std::move(s);
}
inline Status AsStatus(const Status& s) {
  return s;
}
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace zarrpp

#define ZARRPP_CONCAT_INNER(a, b) a##b
#define ZARRPP_CONCAT(a, b) ZARRPP_CONCAT_INNER(a, b)

// Returns the Status of `expr` (a Status or Result) from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                                               \
  do {                                                                      \
    ::zarrpp::Status zarrpp_status_ = ::zarrpp::internal::AsStatus((expr)); \
    if (!zarrpp_status_.ok()) return zarrpp_status_;                        \
  } while (0)

// As RETURN_IF_ERROR, prefixing the message with `context` (anything convertible to string_view).
#define RETURN_IF_ERROR_CTX(expr, context)                                  \
  do {                                                                      \
    ::zarrpp::Status zarrpp_status_ = ::zarrpp::internal::AsStatus((expr)); \
    if (!zarrpp_status_.ok()) return zarrpp_status_.WithContext(context);   \
  } while (0)

// ASSIGN_OR_RETURN(lhs, result_expr): evaluates a Result<T>; returns its Status on error, otherwise
// assigns (or declares, e.g. `auto x`) lhs with the value.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ZARRPP_ASSIGN_OR_RETURN_IMPL(ZARRPP_CONCAT(zarrpp_result_, __LINE__), lhs, rexpr, )
#define ASSIGN_OR_RETURN_CTX(lhs, rexpr, context)                                   \
  ZARRPP_ASSIGN_OR_RETURN_IMPL(ZARRPP_CONCAT(zarrpp_result_, __LINE__), lhs, rexpr, \
                               .WithContext(context))
#define ZARRPP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr, ctx) \
  auto tmp = (rexpr);                                      \
  if (!tmp.ok()) return tmp.status() ctx;                  \
  lhs = std::move(tmp).value()
