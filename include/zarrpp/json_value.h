// zarrpp/json_value.h - JSON values in the public headers without the JSON library's compile cost.
//
// The public headers name JSON documents as `Json` (nlohmann::json) but include only its forward
// declaration (<nlohmann/json_fwd.hpp>), so that a translation unit including them does not
// compile the JSON library. Functions take and return `Json` as before; fields that hold JSON
// (ArrayMetadata::codecs, ::attributes, ::extra_fields, GroupMetadata's) are `JsonValue`s, a
// value type owning one Json document.
//
// To build, read or compare JSON, include <zarrpp/json.h> (the one public header that includes
// <nlohmann/json.hpp>):
//   #include <zarrpp/json.h>
//   m.attributes = {{"units", "K"}};                 // from a Json or Json's brace syntax
//   std::string units = m.attributes->at("units");   // ->, * and get() reach the Json
//   if (m.codecs->empty()) ...
// Assigning a Codecs chain (codecs.h) and copying, moving or destroying metadata need no JSON.
//
// Thread safety: a value. Const access to one object from many threads is safe; distinct objects
// may be used from distinct threads.
#pragma once

// <cstdint>, <map>, <memory>, <string>, <vector>: what json_fwd.hpp includes for its declaration
// of basic_json (the standard-library part of its cost).
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

// Json's brace-initialiser element type, declared as nlohmann/json.hpp declares it, so that
// `m.attributes = {{"k", "v"}}` means what `Json j = {{"k", "v"}}` means (an object).
#ifdef NLOHMANN_JSON_NAMESPACE_BEGIN
NLOHMANN_JSON_NAMESPACE_BEGIN
namespace detail {
template <typename>
class json_ref;
}  // namespace detail
NLOHMANN_JSON_NAMESPACE_END
#else
namespace nlohmann::detail {
template <typename>
class json_ref;
}  // namespace nlohmann::detail
#endif

namespace zarrpp {

using Json = nlohmann::json;

// One JSON document, owned. A default JsonValue is an empty object; EmptyArray() an empty array.
// Neither allocates until changed; a moved-from JsonValue is empty again (object or array as it
// was created).
class JsonValue {
 public:
  JsonValue() noexcept = default;
  static JsonValue EmptyArray() noexcept {
    JsonValue v;
    v.empty_is_array_ = true;
    return v;
  }
  JsonValue(const Json& json);  // NOLINT(google-explicit-constructor)
  JsonValue(Json&& json);       // NOLINT(google-explicit-constructor)
  // As Json's own brace initialiser: {{"k", 1}, {"l", 2}} is an object, {1, 2} an array.
  JsonValue(std::initializer_list<nlohmann::detail::json_ref<Json>> init);

  JsonValue(const JsonValue& other);
  JsonValue(JsonValue&& other) noexcept;
  JsonValue& operator=(const JsonValue& other);
  JsonValue& operator=(JsonValue&& other) noexcept;
  ~JsonValue();

  // The document. The non-const forms allocate an empty one when there is none yet.
  Json& get();
  const Json& get() const;
  Json& operator*() & { return get(); }
  const Json& operator*() const& { return get(); }
  Json&& operator*() &&;
  Json* operator->() { return &get(); }
  const Json* operator->() const { return &get(); }
  operator const Json&() const { return get(); }  // NOLINT(google-explicit-constructor)

  // Element access as Json's operator[]: the non-const forms insert (null) when absent; the
  // const forms require the key or index to exist.
  Json& operator[](std::string_view key);
  const Json& operator[](std::string_view key) const;
  Json& operator[](size_t index);
  const Json& operator[](size_t index) const;

  friend bool operator==(const JsonValue& a, const JsonValue& b);
  friend bool operator==(const JsonValue& a, const Json& b);

 private:
  // Owned; null: the empty object, or the empty array when empty_is_array_. (A raw pointer: the
  // members of a std::unique_ptr of an incomplete type cannot be used in this header.)
  Json* json_ = nullptr;
  bool empty_is_array_ = false;
};

}  // namespace zarrpp
