#include "hull/vmm/x86/pvh.h"

#include <fmt/format.h>

#include <cerrno>
#include <vector>

#include "bytes.h"
#include "hull/vmm/x86/cmdline.h"

namespace hull::vmm::x86 {

Result<GuestAddress> WritePvhBootInfo(const GuestMemory& memory, std::string_view cmdline,
                                      std::optional<InitrdPlacement> initrd,
                                      std::span<const E820Entry> e820) {
  if (e820.empty() || e820.size() > kMaxPvhMemmapEntries) {
    return Error(EINVAL, fmt::format("PVH memory map of {} entries (1 to {} fit)", e820.size(),
                                     kMaxPvhMemmapEntries));
  }
  HULL_TRY(WriteCmdline(memory, cmdline, kCmdlineCapacity - 1));

  std::vector<uint8_t> memmap;
  for (const E820Entry& entry : e820) {
    internal::AppendBytes(memmap, pvh::MemmapEntry{
                                      .addr = entry.addr,
                                      .size = entry.size,
                                      .type = entry.type,
                                      .reserved = 0,
                                  });
  }
  HULL_TRY(memory.Write(GuestAddress(kPvhMemmapAddress), memmap)
               .WithContext("writing the PVH memory map"));

  pvh::StartInfo info = {};
  info.magic = pvh::kStartInfoMagic;
  info.version = pvh::kStartInfoVersion;
  info.cmdline_paddr = kCmdlineAddress;
  info.memmap_paddr = kPvhMemmapAddress;
  info.memmap_entries = static_cast<uint32_t>(e820.size());
  if (initrd) {
    // Linux takes module 0 as the initramfs.
    const pvh::ModlistEntry module = {
        .paddr = initrd->addr.raw(), .size = initrd->size, .cmdline_paddr = 0, .reserved = 0};
    HULL_TRY(memory.WriteObject(GuestAddress(kPvhModlistAddress), module)
                 .WithContext("writing the PVH module list"));
    info.nr_modules = 1;
    info.modlist_paddr = kPvhModlistAddress;
  }
  HULL_TRY(memory.WriteObject(GuestAddress(kPvhStartInfoAddress), info)
               .WithContext("writing the PVH start info"));
  return GuestAddress(kPvhStartInfoAddress);
}

}  // namespace hull::vmm::x86
