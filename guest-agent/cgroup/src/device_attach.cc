// AttachDeviceProgram: the bpf(2) calls that load a cgroup device program
// and make it the only one attached to a cgroup directory.

#include <fmt/format.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "hull/cgroup/device_filter.h"

namespace hull::cgroup {
namespace {

// The kernel reads bpf_attr as an array of u64 for pointers.
uint64_t PtrToU64(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr); }

int Bpf(int cmd, bpf_attr& attr) {
  return static_cast<int>(::syscall(SYS_bpf, cmd, &attr, sizeof(attr)));
}

// One BPF_PROG_LOAD; `log` (may be empty) receives the verifier's log.
int LoadProgram(const std::vector<bpf_insn>& program, std::string& log) {
  static const char kLicense[] = "GPL";
  bpf_attr attr{};
  std::memset(&attr, 0, sizeof(attr));  // every byte: the kernel rejects non-zero unused fields
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = PtrToU64(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = PtrToU64(kLicense);
  if (!log.empty()) {
    attr.log_buf = PtrToU64(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
    attr.log_level = 1;
  }
  std::strncpy(attr.prog_name, "hull_devices", sizeof(attr.prog_name) - 1);
  int fd = Bpf(BPF_PROG_LOAD, attr);
  if (fd < 0 && errno == EINVAL) {
    // Kernels before 4.15 have no prog_name.
    std::memset(attr.prog_name, 0, sizeof(attr.prog_name));
    fd = Bpf(BPF_PROG_LOAD, attr);
  }
  return fd;
}

Result<UniqueFd> Load(const std::vector<bpf_insn>& program) {
  std::string no_log;
  UniqueFd fd(LoadProgram(program, no_log));
  if (fd) return fd;
  const int load_errno = errno;
  if (load_errno != EACCES && load_errno != EINVAL) {
    return Error::FromErrno(load_errno, "bpf(BPF_PROG_LOAD) of the device program");
  }
  // A verifier rejection: load again for its log, which says why.
  std::string log(size_t{64} * 1024, '\0');
  UniqueFd again(LoadProgram(program, log));
  if (again) return again;  // a transient failure the second time round
  log.resize(std::strlen(log.c_str()));
  while (!log.empty() && log.back() == '\n') log.pop_back();
  constexpr size_t kTail = 2000;
  if (log.size() > kTail) log = "..." + log.substr(log.size() - kTail);
  return Error(load_errno, fmt::format("bpf(BPF_PROG_LOAD) of the device program ({} "
                                       "instructions): {}; verifier log:\n{}",
                                       program.size(), std::strerror(load_errno), log));
}

Result<uint32_t> ProgramId(int prog_fd) {
  bpf_prog_info info{};
  std::memset(&info, 0, sizeof(info));
  bpf_attr attr{};
  std::memset(&attr, 0, sizeof(attr));  // every byte: the kernel rejects non-zero unused fields
  attr.info.bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.info.info_len = sizeof(info);
  attr.info.info = PtrToU64(&info);
  if (Bpf(BPF_OBJ_GET_INFO_BY_FD, attr) != 0) {
    return Error::FromErrno(errno, "bpf(BPF_OBJ_GET_INFO_BY_FD) of the device program");
  }
  return info.id;
}

Result<void> Detach(int cgroup_dir_fd, uint32_t prog_id) {
  bpf_attr attr{};
  std::memset(&attr, 0, sizeof(attr));  // every byte: the kernel rejects non-zero unused fields
  attr.prog_id = prog_id;
  UniqueFd prog(Bpf(BPF_PROG_GET_FD_BY_ID, attr));
  if (!prog) {
    if (errno == ENOENT) return Ok();  // already gone
    return Error::FromErrno(errno, fmt::format("bpf(BPF_PROG_GET_FD_BY_ID {})", prog_id));
  }
  std::memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(cgroup_dir_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.Get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  if (Bpf(BPF_PROG_DETACH, attr) != 0 && errno != ENOENT) {
    return Error::FromErrno(errno,
                            fmt::format("bpf(BPF_PROG_DETACH) of device program {}", prog_id));
  }
  return Ok();
}

}  // namespace

Result<std::vector<uint32_t>> QueryDevicePrograms(int cgroup_dir_fd) {
  std::vector<uint32_t> ids(16);
  for (;;) {
    bpf_attr attr{};
    std::memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = static_cast<uint32_t>(cgroup_dir_fd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = PtrToU64(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (Bpf(BPF_PROG_QUERY, attr) == 0) {
      ids.resize(attr.query.prog_cnt);
      return ids;
    }
    // ENOSPC: prog_cnt now says how many there are.
    if (errno != ENOSPC || attr.query.prog_cnt <= ids.size()) {
      return Error::FromErrno(errno, "bpf(BPF_PROG_QUERY) of the cgroup's device programs");
    }
    ids.resize(attr.query.prog_cnt);
  }
}

Result<UniqueFd> AttachDeviceProgram(int cgroup_dir_fd, const std::vector<bpf_insn>& program) {
  HULL_ASSIGN_OR_RETURN(UniqueFd prog, Load(program));
  HULL_ASSIGN_OR_RETURN(uint32_t new_id, ProgramId(prog.Get()));

  // Attach before detaching: the cgroup is never without a filter. Meanwhile
  // both run, and a request passes only if both allow it.
  bpf_attr attr{};
  std::memset(&attr, 0, sizeof(attr));  // every byte: the kernel rejects non-zero unused fields
  attr.target_fd = static_cast<uint32_t>(cgroup_dir_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.Get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, attr) != 0) {
    return Error::FromErrno(errno, "bpf(BPF_PROG_ATTACH) of the device program");
  }

  HULL_ASSIGN_OR_RETURN(std::vector<uint32_t> attached, QueryDevicePrograms(cgroup_dir_fd));
  for (const uint32_t id : attached) {
    if (id != new_id) HULL_TRY(Detach(cgroup_dir_fd, id));
  }
  return prog;
}

}  // namespace hull::cgroup
