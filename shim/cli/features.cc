#include "features.h"

#include <linux/capability.h>

#include <nlohmann/json.hpp>

#include "hull/oci/names.h"

namespace hull::cli {

std::string FeaturesJson() {
  using Json = nlohmann::json;
  using oci::NamespaceType;
  using oci::SeccompAction;
  using oci::SeccompOperator;

  Json namespaces = Json::array();
  for (NamespaceType type : {NamespaceType::kPid, NamespaceType::kNetwork, NamespaceType::kMount,
                             NamespaceType::kIpc, NamespaceType::kUts, NamespaceType::kCgroup}) {
    namespaces.push_back(std::string(oci::NamespaceTypeName(type)));
  }
  Json capabilities = Json::array();
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    if (std::string_view name = oci::CapabilityName(cap); !name.empty()) {
      capabilities.push_back(std::string(name));
    }
  }
  // Every option name the agent's mount-option parser accepts.
  Json mount_options = Json::array();
  for (const char* option :
       {"async",         "atime",       "bind",        "defaults",  "dev",
        "diratime",      "dirsync",     "exec",        "iversion",  "lazytime",
        "loud",          "mand",        "noatime",     "nodev",     "nodiratime",
        "noexec",        "noiversion",  "nolazytime",  "nomand",    "norelatime",
        "nostrictatime", "nosuid",      "nosymfollow", "private",   "rbind",
        "relatime",      "remount",     "ro",          "rprivate",  "rshared",
        "rslave",        "runbindable", "rw",          "shared",    "silent",
        "slave",         "strictatime", "suid",        "symfollow", "sync",
        "tmpcopyup",     "unbindable"}) {
    if (oci::ParseMountOptions({option}).ok()) mount_options.push_back(option);
  }
  Json actions = Json::array();
  for (SeccompAction action :
       {SeccompAction::kAllow, SeccompAction::kErrno, SeccompAction::kKill,
        SeccompAction::kKillProcess, SeccompAction::kKillThread, SeccompAction::kLog,
        SeccompAction::kNotify, SeccompAction::kTrace, SeccompAction::kTrap}) {
    actions.push_back(std::string(oci::SeccompActionName(action)));
  }
  Json operators = Json::array();
  for (SeccompOperator op :
       {SeccompOperator::kEqualTo, SeccompOperator::kGreaterEqual, SeccompOperator::kGreaterThan,
        SeccompOperator::kLessEqual, SeccompOperator::kLessThan, SeccompOperator::kMaskedEqual,
        SeccompOperator::kNotEqual}) {
    operators.push_back(std::string(oci::SeccompOperatorName(op)));
  }
  Json features = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.1.0"},
      {"hooks", Json::array()},
      {"mountOptions", mount_options},
      {"linux",
       {{"namespaces", namespaces},
        {"capabilities", capabilities},
        {"cgroup", {{"v1", false}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions", actions},
          {"operators", operators},
          {"archs", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}}}},
      {"annotations",
       {{"io.hull.vm", "one KVM microVM per container (hull-vmm)"},
        {"io.hull.vcpus", "vCPUs of the sandbox VM (1..64)"},
        {"io.hull.memory_mib", "memory of the sandbox VM in MiB (64..65536)"},
        {"io.hull.log_level", "log level of hull-vmm and the agent"}}},
  };
  return features.dump(2) + "\n";
}

}  // namespace hull::cli
