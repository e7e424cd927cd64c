#include "hull/agent/net/resolv_conf.h"

#include <cerrno>
#include <string_view>

#include "hull/agent/net/address.h"

namespace hull::agent::net {
namespace {

constexpr size_t kMaxDomainLength = 253;  // RFC 1035, in text form
constexpr size_t kMaxOptionLength = 256;

// Whether `word` fits on a resolv.conf line as one word.
bool IsWord(std::string_view word) {
  if (word.empty()) return false;
  for (char c : word) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return false;
  }
  return true;
}

Result<void> CheckWord(std::string_view what, std::string_view word, size_t max_length) {
  if (!IsWord(word) || word.size() > max_length) {
    std::string shown(word.substr(0, 64));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return Error(
        EINVAL,
        std::string(what) + " \"" + shown + (word.size() > 64 ? "..." : "") + "\": " +
            (word.size() > max_length ? "longer than " + std::to_string(max_length) + " characters"
                                      : std::string("expected one word without spaces")));
  }
  return Ok();
}

}  // namespace

Result<std::string> FormatResolvConf(const std::vector<std::string>& servers,
                                     const std::vector<std::string>& searches,
                                     const std::vector<std::string>& options) {
  std::string text;
  for (const std::string& server : servers) {
    HULL_ASSIGN_OR_RETURN(const Address address, ParseIp(server).WithContext("DNS server"));
    text += "nameserver " + FormatIp(address) + "\n";
  }
  if (!searches.empty()) {
    text += "search";
    for (const std::string& domain : searches) {
      HULL_TRY(CheckWord("DNS search domain", domain, kMaxDomainLength));
      text += " " + domain;
    }
    text += "\n";
  }
  if (!options.empty()) {
    text += "options";
    for (const std::string& option : options) {
      HULL_TRY(CheckWord("DNS option", option, kMaxOptionLength));
      text += " " + option;
    }
    text += "\n";
  }
  return text;
}

}  // namespace hull::agent::net
