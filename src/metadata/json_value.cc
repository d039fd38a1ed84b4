// src/metadata/json_value.cc - JsonValue (zarrpp/json_value.h).
#include <ostream>
#include <string>
#include <utility>

#include "zarrpp/json.h"

namespace zarrpp {

namespace {
const Json& EmptyObject() {
  static const Json* const empty = new Json(Json::object());
  return *empty;
}
const Json& EmptyArrayJson() {
  static const Json* const empty = new Json(Json::array());
  return *empty;
}
}  // namespace

JsonValue::JsonValue(const Json& json) : json_(new Json(json)) {}
JsonValue::JsonValue(Json&& json) : json_(new Json(std::move(json))) {}
JsonValue::JsonValue(std::initializer_list<nlohmann::detail::json_ref<Json>> init)
    : json_(new Json(init)) {}

JsonValue::JsonValue(const JsonValue& other)
    : json_(other.json_ ? new Json(*other.json_) : nullptr),
      empty_is_array_(other.empty_is_array_) {}

JsonValue::JsonValue(JsonValue&& other) noexcept
    : json_(std::exchange(other.json_, nullptr)), empty_is_array_(other.empty_is_array_) {}

JsonValue& JsonValue::operator=(const JsonValue& other) {
  if (this != &other) {
    Json* copy = other.json_ ? new Json(*other.json_) : nullptr;
    delete json_;
    json_ = copy;
    empty_is_array_ = other.empty_is_array_;
  }
  return *this;
}

JsonValue& JsonValue::operator=(JsonValue&& other) noexcept {
  if (this != &other) {
    delete json_;
    json_ = std::exchange(other.json_, nullptr);
    empty_is_array_ = other.empty_is_array_;
  }
  return *this;
}

JsonValue::~JsonValue() {
  delete json_;
}

Json& JsonValue::get() {
  if (!json_) json_ = new Json(empty_is_array_ ? Json::array() : Json::object());
  return *json_;
}

const Json& JsonValue::get() const {
  if (json_) return *json_;
  return empty_is_array_ ? EmptyArrayJson() : EmptyObject();
}

Json&& JsonValue::operator*() && {
  return std::move(get());
}

Json& JsonValue::operator[](std::string_view key) {
  return get()[std::string(key)];
}

const Json& JsonValue::operator[](std::string_view key) const {
  return get()[std::string(key)];
}

Json& JsonValue::operator[](size_t index) {
  return get()[index];
}

const Json& JsonValue::operator[](size_t index) const {
  return get()[index];
}

bool operator==(const JsonValue& a, const JsonValue& b) {
  return a.get() == b.get();
}

bool operator==(const JsonValue& a, const Json& b) {
  return a.get() == b;
}

std::ostream& operator<<(std::ostream& os, const JsonValue& value) {
  return os << value.get();
}

}  // namespace zarrpp
