#include "hull/containerd/typeurl.h"

#include <google/protobuf/descriptor.h>

#include <cerrno>

namespace hull::typeurl {

std::string TypeUrl(const google::protobuf::Message& message) {
  return message.GetDescriptor()->full_name();
}

google::protobuf::Any Pack(const google::protobuf::Message& message) {
  google::protobuf::Any any;
  any.set_type_url(TypeUrl(message));
  message.SerializeToString(any.mutable_value());
  return any;
}

std::string_view TypeName(const google::protobuf::Any& any) {
  std::string_view url = any.type_url();
  const size_t slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

Result<void> Unpack(const google::protobuf::Any& any, google::protobuf::Message* message) {
  const std::string& expected = message->GetDescriptor()->full_name();
  if (TypeName(any) != expected) {
    return Error(EINVAL, "Any holds \"" + any.type_url() + "\", expected " + expected);
  }
  if (!message->ParseFromString(any.value())) {
    return Error(EINVAL, "Any of type " + expected + ": its value does not parse");
  }
  return Ok();
}

}  // namespace hull::typeurl
