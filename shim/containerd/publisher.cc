#include "publisher.h"

#include <chrono>

#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "hull/common/logging.h"
#include "hull/containerd/typeurl.h"

namespace hull::shim {

void Publisher::Publish(const std::string& topic, const google::protobuf::Message& event) {
  if (address_.empty()) return;
  containerd::services::events::ttrpc::v1::ForwardRequest request;
  auto* envelope = request.mutable_envelope();
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  envelope->mutable_timestamp()->set_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(now).count());
  envelope->mutable_timestamp()->set_nanos(static_cast<int32_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now).count() % 1000000000));
  envelope->set_namespace_(namespace_);
  envelope->set_topic(topic);
  *envelope->mutable_event() = typeurl::Pack(event);
  std::lock_guard lock(mutex_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!client_) {
      Result<std::unique_ptr<ttrpc::Client>> client = ttrpc::Client::Connect(address_);
      if (!client.ok()) {
        LogEvent(spdlog::level::warn, "event_dropped", Kv("topic", topic),
                 Kv("error", client.error().message()));
        return;
      }
      client_ = std::move(*client);
    }
    Result<std::string> sent =
        client_->Call("containerd.services.events.ttrpc.v1.Events", "Forward",
                      request.SerializeAsString(), std::chrono::seconds(5));
    if (sent.ok()) return;
    LogEvent(spdlog::level::warn, "event_send_failed", Kv("topic", topic),
             Kv("error", sent.error().message()));
    client_.reset();  // reconnect once
  }
}

}  // namespace hull::shim
