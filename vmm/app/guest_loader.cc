#include "guest_loader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <optional>

#include "hull/common/memory_mapping.h"
#include "hull/common/unique_fd.h"

namespace hull::vmm {
namespace {

// A whole file mapped read-only; `what` names it in errors ("kernel").
Result<MemoryMapping> MapFile(const std::string& path, std::string_view what,
                              std::string_view flag) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return Error::FromErrno(errno, fmt::format("{} {}", what, path))
        .WithContext(fmt::format("cannot open the {} given by {}", what, flag));
  }
  struct stat st {};
  if (::fstat(fd.Get(), &st) != 0) return Error::FromErrno(errno, fmt::format("stat {}", path));
  if (!S_ISREG(st.st_mode)) {
    return Error(EINVAL, fmt::format("{} {} is not a regular file ({})", what, path, flag));
  }
  if (st.st_size == 0) return Error(EINVAL, fmt::format("{} {} is empty ({})", what, path, flag));
  return MemoryMapping::Map(static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.Get(), 0)
      .WithContext(fmt::format("mapping the {} {}", what, path));
}

}  // namespace

Result<x86::BootSetup> LoadGuestKernel(const GuestMemory& memory, const VmmConfig& config,
                                       const std::string& cmdline) {
  HULL_ASSIGN_OR_RETURN(MemoryMapping kernel, MapFile(config.kernel, "kernel", "--kernel"));
  std::optional<MemoryMapping> initrd;
  if (config.initrd) {
    HULL_ASSIGN_OR_RETURN(initrd, MapFile(*config.initrd, "initramfs", "--initrd"));
  }
  x86::LoadRequest request;
  request.kernel = kernel.bytes();
  if (initrd) request.initrd = initrd->bytes();
  request.cmdline = cmdline;
  request.mem_bytes = config.mem_mib << 20;
  request.num_cpus = config.cpus;
  request.kernel_name = config.kernel;
  return x86::LoadKernel(memory, request);
}

}  // namespace hull::vmm
