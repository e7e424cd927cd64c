// Fuzzes what containerd sends containerd-shim-hull-v2's Task service: the
// first byte picks a method, the rest is its request payload (protobuf
// bytes, as a ttrpc Request carries them), dispatched through the same
// service table the shim's ttrpc server uses. The service has no VM and no
// containers (as a fresh shim), so every request about a task must come
// back as an error status (NOT_FOUND, INVALID_ARGUMENT, ...), never a crash,
// a hang or a success that claims a task exists.
//
// Create is not driven here: a well-formed Create mounts the request's
// rootfs and boots a VM (the kvm tests cover it); its payload parsing is
// protobuf's, and its checks are those of container_bundle (host_bundle
// fuzzer).

#include <google/protobuf/stubs/logging.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hull/common/check.h"
#include "hull/sandbox/host_config.h"
#include "hull/ttrpc/services.h"
#include "publisher.h"
#include "task_service.h"

namespace {

constexpr std::array<std::string_view, 15> kMethods = {
    "Start", "Delete", "Exec",   "ResizePty", "State", "Kill",    "CloseIO",   "Pids",
    "Pause", "Resume", "Update", "Wait",      "Stats", "Connect", "Checkpoint"};

struct Shim {
  Shim() : publisher("", "fuzz"), service(hull::sandbox::HostConfig{}, publisher, [] {}) {
    HULL_CHECK(service.Register(services).ok());
  }
  hull::shim::Publisher publisher;
  hull::shim::TaskService service;
  hull::ttrpc::Services services;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  static Shim shim;
  if (size == 0) return 0;
  const std::string_view method = kMethods[data[0] % kMethods.size()];
  const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
  hull::ttrpc::CallContext call;
  call.service = "containerd.task.v2.Task";
  call.method = method;
  const hull::ttrpc::Reply reply = shim.services.Call(call, payload);
  // With no task, only Connect answers (the shim's own pid and version).
  if (method != "Connect") HULL_CHECK(!reply.ok());
  return 0;
}
