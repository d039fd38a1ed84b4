// codecs/numcodecs_config.h - reading codec configuration objects field by field, with errors
// that name the field and the value, and refusing fields no reader asked for.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "zarrpp/json.h"
#include "zarrpp/metadata.h"
#include "zarrpp/status.h"

namespace zarrpp::internal {

class ConfigReader {
 public:
  // A null configuration reads as an empty object; anything else but an object is refused.
  static Result<ConfigReader> Make(const Json& configuration) {
    if (configuration.is_null()) return ConfigReader(Json::object());
    if (!configuration.is_object()) {
      return Status::InvalidArgument("configuration " + configuration.dump() + " is not an object");
    }
    return ConfigReader(configuration);
  }
  // The field as it is (null counts as absent).
  std::optional<Json> Raw(const std::string& key) {
    seen_.insert(key);
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return std::nullopt;
    return *it;
  }
  Result<std::optional<int64_t>> Int(const std::string& key) {
    const std::optional<Json> v = Raw(key);
    if (!v) return std::optional<int64_t>();
    if (!v->is_number_integer() || (v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX)) {
      return Status::InvalidArgument("configuration." + key + " must be an integer, got " +
                                     v->dump());
    }
    return std::optional<int64_t>(v->get<int64_t>());
  }
  Result<std::optional<double>> Number(const std::string& key) {
    const std::optional<Json> v = Raw(key);
    if (!v) return std::optional<double>();
    if (!v->is_number()) {
      return Status::InvalidArgument("configuration." + key + " must be a number, got " +
                                     v->dump());
    }
    return std::optional<double>(v->get<double>());
  }
  Result<std::optional<std::string>> String(const std::string& key) {
    const std::optional<Json> v = Raw(key);
    if (!v) return std::optional<std::string>();
    if (!v->is_string()) {
      return Status::InvalidArgument("configuration." + key + " must be a string, got " +
                                     v->dump());
    }
    return std::optional<std::string>(v->get<std::string>());
  }
  // InvalidArgument naming the first field no accessor asked for.
  Status Finish() const {
    for (const auto& [key, value] : j_.items()) {
      if (!seen_.count(key)) {
        return Status::InvalidArgument("unexpected configuration field \"" + key + "\"");
      }
    }
    return Status::OK();
  }

 private:
  explicit ConfigReader(Json j) : j_(std::move(j)) {}
  Json j_;
  std::set<std::string> seen_;
};

}  // namespace zarrpp::internal
