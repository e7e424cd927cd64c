#pragma once

// What a ttrpc server serves: handlers by "service/method".
//
//   hull::ttrpc::Services services;
//   HULL_TRY(services.Register("containerd.task.v2.Task", "Wait",
//       [&](const CallContext& call, std::string_view payload) -> Reply {
//         WaitRequest request;
//         if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
//           return Status{StatusCode::kInvalidArgument, "WaitRequest does not parse"};
//         auto exit = tasks.Wait(request.id(), call.stop);  // returns when stop is requested
//         if (!exit.ok()) return exit.error();               // ENOENT -> NOT_FOUND
//         return exit->SerializeAsString();
//       }));
//
// A handler runs on a thread of its own (server.h) and may block; it must
// return soon after `call.stop` is requested.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hull/common/result.h"
#include "hull/ttrpc/status.h"

namespace hull::ttrpc {

struct CallContext {
  std::string_view service;
  std::string_view method;
  // From the request's timeout_nano; the server does not enforce it (as
  // ttrpc, which only cancels the handler's context): a handler that waits
  // should give up by then.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Request metadata (key, value) in the order sent; keys may repeat.
  std::vector<std::pair<std::string, std::string>> metadata;
  // Requested when the connection closes or the server shuts down.
  std::stop_token stop;
};

// A handler's answer: a serialized response message (status OK), or a
// status. Converts from either, and from an Error (via StatusFromError).
class Reply {
 public:
  Reply(std::string payload) : payload_(std::move(payload)) {}    // NOLINT: implicit by design
  Reply(Status status) : status_(std::move(status)) {}            // NOLINT
  Reply(const Error& error) : status_(StatusFromError(error)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  const std::string& payload() const { return payload_; }
  std::string TakePayload() && { return std::move(payload_); }

 private:
  Status status_;
  std::string payload_;
};

using Handler = std::function<Reply(const CallContext& call, std::string_view payload)>;

class Services {
 public:
  // EEXIST when `service`/`method` already has a handler; EINVAL when either
  // name is empty or the handler is empty.
  Result<void> Register(std::string_view service, std::string_view method, Handler handler);

  // nullptr when nothing is registered there.
  const Handler* Find(std::string_view service, std::string_view method) const;

  // Runs the handler for service/method, or answers UNIMPLEMENTED ("service
  // X" / "method X", ttrpc's words) when there is none. A handler that
  // throws answers INTERNAL: exceptions stop here.
  Reply Call(const CallContext& call, std::string_view payload) const;

 private:
  std::map<std::string, std::map<std::string, Handler, std::less<>>, std::less<>> services_;
};

}  // namespace hull::ttrpc
