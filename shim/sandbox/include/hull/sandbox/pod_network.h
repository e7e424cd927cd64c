#pragma once

// A sandbox's network, Kata's "tc filter" model: the engine's CNI plugins
// made interfaces (a veth, usually eth0) in the pod's network namespace and
// expect the pod to use them unchanged. For each such interface, Attach()
// creates a tap device in that namespace (hull-vmm's virtio-net backend) and
// joins the two with tc: every frame arriving on the interface is redirected
// to the tap's egress (into the VM) and every frame from the VM to the
// interface's egress (out to the CNI's bridge or peer), neither seen by the
// namespace's own IP stack. The guest's virtio-net device takes the
// interface's MAC, and the agent gives it the interface's name, MTU,
// addresses and routes, so the pod keeps the identity CNI gave it.
//
// The taps are not persistent: they vanish when the last fd (ours and
// hull-vmm's copy) closes. Detach() removes the redirects (the interfaces'
// ingress qdiscs). Work inside the namespace runs on a short-lived thread
// that setns()es into it, so the calling process never leaves its own.

#include <memory>
#include <string>
#include <vector>

#include "agent.pb.h"
#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::sandbox {

struct MirroredInterface {
  std::string name;  // in the namespace ("eth0"); the guest's device gets it too
  int index = 0;
  std::string tap;  // "hull_tap0", beside it in the namespace
  int tap_index = 0;
  std::string mac;  // the interface's: the guest device's MAC
  uint32_t mtu = 0;
  std::vector<std::string> addresses;  // CIDRs of global scope
};

struct MirroredRoute {
  std::string destination;  // CIDR or "default"
  std::string gateway;      // empty: a link route
  std::string device;       // a MirroredInterface name
  std::string source;
  uint32_t metric = 0;
};

class PodNetwork {
 public:
  // Mirrors every interface of the network namespace at `netns_path` that
  // has an Ethernet MAC (not the loopback). The namespace must not be this
  // process's own (the host's interfaces are never handed to a VM). A
  // namespace with no such interface gives an empty PodNetwork.
  static Result<std::unique_ptr<PodNetwork>> Attach(const std::string& netns_path);
  // What a dead owner left in `netns_path`: the redirects on the interfaces
  // named. Ok when the namespace or the interfaces are gone.
  static Result<void> DetachStale(const std::string& netns_path,
                                  const std::vector<std::string>& interface_names);
  ~PodNetwork();
  PodNetwork(const PodNetwork&) = delete;
  PodNetwork& operator=(const PodNetwork&) = delete;

  const std::string& netns_path() const { return netns_path_; }
  const std::vector<MirroredInterface>& interfaces() const { return interfaces_; }
  const std::vector<MirroredRoute>& routes() const { return routes_; }
  // One per interface, in the same order: for hull-vmm's --net fd=N,mac=M.
  const std::vector<UniqueFd>& tap_fds() const { return taps_; }

  // The interfaces and routes as the agent's CreateSandbox takes them.
  void Describe(::hull::agent::v1::CreateSandboxRequest& request) const;

  // Removes the redirects and closes our tap fds. Idempotent; a namespace
  // that is gone already (CNI deleted it) is fine.
  Result<void> Detach();

 private:
  PodNetwork() = default;

  std::string netns_path_;
  UniqueFd netns_;
  std::vector<MirroredInterface> interfaces_;
  std::vector<MirroredRoute> routes_;
  std::vector<UniqueFd> taps_;
};

}  // namespace hull::sandbox
