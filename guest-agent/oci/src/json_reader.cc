#include "json_reader.h"

#include "hull/oci/spec_parse.h"
#include "text_checks.h"

namespace hull::oci::internal {
namespace {

// Whether `text` nests arrays and objects deeper than `limit`. A linear scan
// that knows strings and escapes; malformed JSON is left to the parser.
bool NestsDeeperThan(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > limit) return true;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

std::string Describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return value.dump();
    case Json::value_t::string:
      return fmt::format("the string {}", Quote(value.get_ref<const std::string&>(), 32));
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return value.type_name();
  }
}

}  // namespace

Result<Json> ParseDocument(std::string_view text, std::string_view what) {
  if (text.size() > kMaxSpecBytes) {
    return Error(E2BIG, fmt::format("{}: {} bytes is more than the {} hull-agent accepts", what,
                                    text.size(), kMaxSpecBytes));
  }
  if (NestsDeeperThan(text, kMaxJsonDepth)) {
    return Error(EINVAL, fmt::format("{}: JSON nested deeper than {} levels", what, kMaxJsonDepth));
  }
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    return Error(EINVAL, fmt::format("{}: invalid JSON: {}", what, e.what()));
  }
}

std::string MemberPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

std::string ElementPath(std::string_view path, size_t index) {
  return fmt::format("{}[{}]", path, index);
}

std::string KeyPath(std::string_view path, std::string_view key) {
  return fmt::format("{}[{}]", path, Quote(key));
}

Error TypeError(std::string_view path, std::string_view expected, const Json& got) {
  return Error(EINVAL, fmt::format("{}: expected {}, got {}", path.empty() ? "top level" : path,
                                   expected, Describe(got)));
}

Result<std::string> AsString(const Json& value, std::string_view path) {
  if (!value.is_string()) return TypeError(path, "a string", value);
  return value.get<std::string>();
}

Result<bool> AsBool(const Json& value, std::string_view path) {
  if (!value.is_boolean()) return TypeError(path, "true or false", value);
  return value.get<bool>();
}

Result<std::vector<std::string>> AsStringArray(const Json& value, std::string_view path) {
  if (!value.is_array()) return TypeError(path, "an array of strings", value);
  std::vector<std::string> out;
  out.reserve(value.size());
  size_t index = 0;
  for (const Json& element : value) {
    HULL_ASSIGN_OR_RETURN(std::string item, AsString(element, ElementPath(path, index)));
    out.push_back(std::move(item));
    ++index;
  }
  return out;
}

Result<std::map<std::string, std::string>> AsStringMap(const Json& value, std::string_view path) {
  if (!value.is_object()) return TypeError(path, "an object of strings", value);
  std::map<std::string, std::string> out;
  for (const auto& [key, item] : value.items()) {
    HULL_ASSIGN_OR_RETURN(std::string text, AsString(item, KeyPath(path, key)));
    out.emplace(key, std::move(text));
  }
  return out;
}

Result<ObjectReader> ObjectReader::Make(const Json& value, std::string path) {
  if (!value.is_object()) return TypeError(path, "an object", value);
  return ObjectReader(value, std::move(path));
}

const Json* ObjectReader::Find(std::string_view key) const {
  const auto it = value_->find(std::string(key));
  if (it == value_->end() || it->is_null()) return nullptr;
  return &*it;
}

Result<void> ObjectReader::Require(std::string_view key) const {
  if (Has(key)) return Ok();
  return Error(EINVAL, fmt::format("{}: required", PathOf(key)));
}

Result<void> ObjectReader::Read(std::string_view key, std::string& out) const {
  const Json* value = Find(key);
  if (value == nullptr) return Ok();
  HULL_ASSIGN_OR_RETURN(out, AsString(*value, PathOf(key)));
  return Ok();
}

Result<void> ObjectReader::Read(std::string_view key, bool& out) const {
  const Json* value = Find(key);
  if (value == nullptr) return Ok();
  HULL_ASSIGN_OR_RETURN(out, AsBool(*value, PathOf(key)));
  return Ok();
}

Result<void> ObjectReader::Read(std::string_view key, std::optional<bool>& out) const {
  const Json* value = Find(key);
  if (value == nullptr) return Ok();
  HULL_ASSIGN_OR_RETURN(out, AsBool(*value, PathOf(key)));
  return Ok();
}

Result<void> ObjectReader::Read(std::string_view key, std::vector<std::string>& out) const {
  const Json* value = Find(key);
  if (value == nullptr) return Ok();
  HULL_ASSIGN_OR_RETURN(out, AsStringArray(*value, PathOf(key)));
  return Ok();
}

Result<void> ObjectReader::Read(std::string_view key,
                                std::map<std::string, std::string>& out) const {
  const Json* value = Find(key);
  if (value == nullptr) return Ok();
  HULL_ASSIGN_OR_RETURN(out, AsStringMap(*value, PathOf(key)));
  return Ok();
}

}  // namespace hull::oci::internal
