#pragma once

// google.protobuf.Any the way containerd 1.6 writes and reads it (its Go
// package of the same name: github.com/containerd/typeurl).
//
// containerd names a type in an Any by its bare protobuf name: an event
// published as TaskExit must carry the type_url "containerd.events.TaskExit",
// not protobuf's default "type.googleapis.com/containerd.events.TaskExit",
// which containerd 1.6 does not resolve (its lookup is by exact URL, then by
// message name). protobuf's C++ Any::PackFrom always writes a '/' and
// Any::UnpackTo requires one, so the shim packs and unpacks through these.
//
//   *envelope.mutable_event() = hull::typeurl::Pack(task_exit);
//   HULL_TRY(hull::typeurl::Unpack(request.options(), &runc_options));
//
// (Not hull::containerd: that would hide the generated ::containerd
// namespace from code inside namespace hull.)

#include <google/protobuf/any.pb.h>
#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "hull/common/result.h"

namespace hull::typeurl {

// The type_url containerd uses for `message`: its full protobuf name.
std::string TypeUrl(const google::protobuf::Message& message);

// `message` in an Any whose type_url is TypeUrl(message).
google::protobuf::Any Pack(const google::protobuf::Message& message);

// The type an Any names: its type_url after the last '/', if any (so both
// containerd's bare names and "type.googleapis.com/..." URLs work).
std::string_view TypeName(const google::protobuf::Any& any);

// Parses `any` into `message`. EINVAL when the Any names another type or its
// value does not parse as one.
Result<void> Unpack(const google::protobuf::Any& any, google::protobuf::Message* message);

}  // namespace hull::typeurl
