#include "hull/vmm/virtio/vhost/call_relay.h"

#include <sys/epoll.h>

namespace hull::vmm::virtio::vhost {

Result<CallRelay> CallRelay::Create(size_t count) {
  std::vector<EventFd> fds;
  for (size_t i = 0; i < count; ++i) {
    HULL_ASSIGN_OR_RETURN(EventFd fd, EventFd::Create());
    fds.push_back(std::move(fd));
  }
  return CallRelay(std::move(fds));
}

std::vector<int> CallRelay::fds() const {
  std::vector<int> out;
  for (const EventFd& fd : fds_) out.push_back(fd.fd());
  return out;
}

void CallRelay::AppendSources(std::vector<EventSource>& sources) const {
  for (size_t i = 0; i < fds_.size(); ++i) {
    sources.push_back({fds_[i].fd(), EPOLLIN, static_cast<uint32_t>(i)});
  }
}

bool CallRelay::Relay(uint32_t token, const ActiveQueues& active) {
  if (token >= fds_.size()) return false;
  (void)fds_[token].Consume();
  // The back end used buffers of this ring and (EVENT_IDX or not) decided
  // the driver wants to hear it.
  if (active.active()) {
    ++relayed_;
    (void)active.interrupt().SignalUsedBuffer();
  }
  return true;
}

}  // namespace hull::vmm::virtio::vhost
