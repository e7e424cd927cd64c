#pragma once

// Task events to containerd: each one an Envelope (timestamp, namespace,
// topic, the event in an Any) sent with
// containerd.services.events.ttrpc.v1.Events/Forward over ttrpc to
// $TTRPC_ADDRESS, as containerd 1.6's own shims publish.

#include <google/protobuf/message.h>

#include <memory>
#include <mutex>
#include <string>

#include "hull/ttrpc/client.h"

namespace hull::shim {

class Publisher {
 public:
  Publisher(std::string ttrpc_address, std::string ns)
      : address_(std::move(ttrpc_address)), namespace_(std::move(ns)) {}
  // Sends one event; failures are logged (containerd may be restarting), not
  // returned: a task's life does not depend on its events.
  void Publish(const std::string& topic, const google::protobuf::Message& event);

 private:
  std::string address_;
  std::string namespace_;
  std::mutex mutex_;
  std::unique_ptr<ttrpc::Client> client_;
};

}  // namespace hull::shim
