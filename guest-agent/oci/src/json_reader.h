#pragma once

// Reading nlohmann::json values into spec fields without exceptions: every
// accessor checks the JSON type (and the number's range) first and returns an
// Error naming the JSON path ("linux.namespaces[2].type") otherwise.

#include <fmt/format.h>

#include <cerrno>
#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hull/common/result.h"

namespace hull::oci::internal {

using Json = nlohmann::json;

// Size and nesting checks, then the parse; nlohmann's exceptions become
// Errors. `what` names the document in messages ("config.json").
Result<Json> ParseDocument(std::string_view text, std::string_view what);

// Runs `parse` (returning a Result), turning any exception that escapes it
// (std::bad_alloc on a huge input, a library bug) into an Error.
template <typename F>
auto RunGuarded(F&& parse) -> decltype(parse()) {
  try {
    return std::forward<F>(parse)();
  } catch (const std::bad_alloc&) {
    return Error(ENOMEM, "out of memory parsing JSON");
  } catch (const std::exception& e) {
    return Error(EINVAL, fmt::format("invalid JSON: {}", e.what()));
  }
}

// "<path>.<key>" ("<key>" at the root), "<path>[<index>]", "<path>[\"<key>\"]".
std::string MemberPath(std::string_view path, std::string_view key);
std::string ElementPath(std::string_view path, size_t index);
std::string KeyPath(std::string_view path, std::string_view key);

// "<path>: expected <expected>, got <a description of got>".
Error TypeError(std::string_view path, std::string_view expected, const Json& got);

template <typename T>
concept Integer = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>;

// "an unsigned 32-bit integer", "a signed 64-bit integer".
template <Integer T>
std::string IntegerName() {
  return fmt::format("{} {}-bit integer", std::is_signed_v<T> ? "a signed" : "an unsigned",
                     sizeof(T) * 8);
}

// A JSON whole number that fits T; fractions and exponents are refused as
// Go's encoding/json refuses them for integer fields.
template <Integer T>
Result<T> AsInteger(const Json& value, std::string_view path) {
  if (value.is_number_unsigned()) {
    const uint64_t n = value.get<uint64_t>();
    if (n <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(n);
  } else if (value.is_number_integer()) {
    const int64_t n = value.get<int64_t>();
    if constexpr (std::is_signed_v<T>) {
      if (n >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
          n <= static_cast<int64_t>(std::numeric_limits<T>::max())) {
        return static_cast<T>(n);
      }
    } else {
      if (n >= 0 && static_cast<uint64_t>(n) <= std::numeric_limits<T>::max()) {
        return static_cast<T>(n);
      }
    }
  }
  return TypeError(path, IntegerName<T>(), value);
}

Result<std::string> AsString(const Json& value, std::string_view path);
Result<bool> AsBool(const Json& value, std::string_view path);
Result<std::vector<std::string>> AsStringArray(const Json& value, std::string_view path);
Result<std::map<std::string, std::string>> AsStringMap(const Json& value, std::string_view path);

// Reads the members of one JSON object. An absent member, or one whose value
// is null, leaves the output as it was; unknown members are not looked at.
class ObjectReader {
 public:
  // EINVAL unless `value` is an object. `value` must outlive the reader.
  static Result<ObjectReader> Make(const Json& value, std::string path);

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const { return MemberPath(path_, key); }
  // Null when the member is absent or null.
  const Json* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  // "<path>.<key>: required" unless Has(key).
  Result<void> Require(std::string_view key) const;

  Result<void> Read(std::string_view key, std::string& out) const;
  Result<void> Read(std::string_view key, bool& out) const;
  Result<void> Read(std::string_view key, std::optional<bool>& out) const;
  Result<void> Read(std::string_view key, std::vector<std::string>& out) const;
  Result<void> Read(std::string_view key, std::map<std::string, std::string>& out) const;

  template <Integer T>
  Result<void> Read(std::string_view key, T& out) const {
    const Json* value = Find(key);
    if (value == nullptr) return Ok();
    HULL_ASSIGN_OR_RETURN(out, AsInteger<T>(*value, PathOf(key)));
    return Ok();
  }

  template <Integer T>
  Result<void> Read(std::string_view key, std::optional<T>& out) const {
    const Json* value = Find(key);
    if (value == nullptr) return Ok();
    HULL_ASSIGN_OR_RETURN(out, AsInteger<T>(*value, PathOf(key)));
    return Ok();
  }

  // Require(key), then Read(key, out).
  template <typename T>
  Result<void> ReadRequired(std::string_view key, T& out) const {
    HULL_TRY(Require(key));
    return Read(key, out);
  }

  // An array, each element turned into a T by `parse(element, element_path)`
  // (a Result<T>).
  template <typename T, typename Parse>
  Result<void> ReadArray(std::string_view key, std::vector<T>& out, Parse parse) const {
    const Json* value = Find(key);
    if (value == nullptr) return Ok();
    const std::string path = PathOf(key);
    if (!value->is_array()) return TypeError(path, "an array", *value);
    out.clear();
    out.reserve(value->size());
    size_t index = 0;
    for (const Json& element : *value) {
      HULL_ASSIGN_OR_RETURN(T item, parse(element, ElementPath(path, index)));
      out.push_back(std::move(item));
      ++index;
    }
    return Ok();
  }

  // A nested object turned into a T by `parse(value, path)` (a Result<T>).
  template <typename T, typename Parse>
  Result<void> ReadObject(std::string_view key, std::optional<T>& out, Parse parse) const {
    const Json* value = Find(key);
    if (value == nullptr) return Ok();
    HULL_ASSIGN_OR_RETURN(out, parse(*value, PathOf(key)));
    return Ok();
  }

 private:
  ObjectReader(const Json& value, std::string path) : value_(&value), path_(std::move(path)) {}

  const Json* value_;
  std::string path_;
};

}  // namespace hull::oci::internal
