#include "hull/common/result.h"

#include <cstring>
#include <string>

namespace hull {

Error::Error(int code, std::string message) : code_(code), message_(std::move(message)) {}

Error Error::FromErrno(int errnum, std::string_view what) {
  std::string message(what);
  message += ": ";
  message += std::strerror(errnum);
  return Error(errnum, std::move(message));
}

Error Error::WithContext(std::string_view context) && {
  std::string message;
  message.reserve(context.size() + 2 + message_.size());
  message.append(context).append(": ").append(message_);
  message_ = std::move(message);
  return std::move(*this);
}

Error Error::WithContext(std::string_view context) const& {
  return Error(*this).WithContext(context);
}

std::string Error::ToString() const {
  std::string text = message_;
  // strerrorname_np (glibc >= 2.32) gives "ENOENT"; it is null for unknown codes.
  if (const char* name = strerrorname_np(code_); name != nullptr) {
    text.append(" [").append(name).append("]");
  } else {
    text.append(" [error ").append(std::to_string(code_)).append("]");
  }
  return text;
}

}  // namespace hull
