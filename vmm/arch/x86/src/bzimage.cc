#include "hull/vmm/x86/bzimage.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>

#include "bytes.h"
#include "hull/vmm/x86/boot_params.h"
#include "hull/vmm/x86/cmdline.h"

namespace hull::vmm::x86 {
namespace {

Error NotLoadable(std::string message) { return Error(ENOEXEC, std::move(message)); }

constexpr uint64_t kSectorSize = 512;
// setup_sects 0 means 4 (boot.rst, for very old kernels).
constexpr uint8_t kDefaultSetupSects = 4;
// Copies of the setup header stop here: at 0x290 the zero page's own fields
// resume (edd_mbr_sig_buffer), whatever a header's jump byte claims.
constexpr uint64_t kSetupHeaderLimit = 0x290;
// The end of the real-mode heap, as an offset from the setup code minus 0x200
// (boot.rst); the 64-bit entry skips that code, but the kernel reads the flag.
constexpr uint16_t kHeapEndPtr = 0xFE00;

}  // namespace

Result<BzImage> ParseBzImage(std::span<const uint8_t> file) {
  const std::optional<boot::SetupHeader> header =
      internal::ReadAt<boot::SetupHeader>(file, boot::kSetupHeaderOffset);
  if (!header) {
    return NotLoadable(fmt::format("truncated bzImage: {} bytes, its setup header ends at {:#x}",
                                   file.size(),
                                   boot::kSetupHeaderOffset + sizeof(boot::SetupHeader)));
  }
  if (header->boot_flag != boot::kBootFlag) {
    return NotLoadable(fmt::format("no boot flag 0xAA55 at 0x1FE (found {:#06x}): not a bzImage",
                                   static_cast<unsigned>(header->boot_flag)));
  }
  if (header->header != boot::kHeaderMagic) {
    return NotLoadable(
        "no \"HdrS\" at 0x202: not a bzImage (or one older than boot protocol 2.00)");
  }
  if (header->version < boot::kMinProtocol) {
    return NotLoadable(
        fmt::format("boot protocol {}.{:02} is older than 2.06, the oldest hull "
                    "supports",
                    header->version >> 8, header->version & 0xFF));
  }
  if ((header->loadflags & boot::kLoadedHigh) == 0) {
    return NotLoadable(
        "the kernel loads low (no LOADED_HIGH in loadflags): a zImage, not a bzImage");
  }
  if ((header->xloadflags & boot::kXlfKernel64) == 0) {
    return NotLoadable(
        "the bzImage has no 64-bit entry point (XLF_KERNEL_64 in xloadflags: boot "
        "protocol 2.12, Linux 3.8 and later)");
  }

  BzImage image;
  image.protocol_version = header->version;
  image.setup_sects = header->setup_sects == 0 ? kDefaultSetupSects : header->setup_sects;
  image.loadflags = header->loadflags;
  image.xloadflags = header->xloadflags;
  image.cmdline_size = header->cmdline_size;
  image.initrd_addr_max = header->initrd_addr_max;
  image.kernel_alignment = header->kernel_alignment;
  image.relocatable = header->relocatable_kernel != 0;
  // Fields of protocol 2.10: before it, the kernel runs where it is loaded.
  const bool has_2_10 = header->version >= 0x020A;
  image.pref_address = has_2_10 ? header->pref_address : kBzImageLoadAddress;
  image.init_size = has_2_10 ? header->init_size : 0;

  image.kernel_offset = (uint64_t{image.setup_sects} + 1) * kSectorSize;
  if (image.kernel_offset >= file.size()) {
    return NotLoadable(
        fmt::format("bzImage of {} bytes: its {}-byte setup ({} sectors) leaves no "
                    "protected-mode kernel",
                    file.size(), image.kernel_offset, image.setup_sects));
  }
  image.kernel_size = file.size() - image.kernel_offset;
  // kernel_offset >= 2 sectors, so the jump byte and the header limit are in the file.
  image.setup_header_end =
      std::min<uint64_t>(0x202 + file[boot::kSetupHeaderJumpOffset], kSetupHeaderLimit);

  uint64_t runtime_start = image.pref_address;
  if (image.relocatable) {
    if (!std::has_single_bit(image.kernel_alignment)) {
      return NotLoadable(
          fmt::format("relocatable kernel with kernel_alignment {:#x} (must be a "
                      "power of two)",
                      image.kernel_alignment));
    }
    runtime_start =
        std::max(*internal::AlignUp(kBzImageLoadAddress, image.kernel_alignment), runtime_start);
  }
  if (runtime_start < kBzImageLoadAddress) {
    return NotLoadable(fmt::format("the kernel wants to run at {:#x}, below 1 MiB", runtime_start));
  }
  if (runtime_start > UINT64_MAX - image.init_size) {
    return NotLoadable(fmt::format("pref_address {:#x} + init_size {:#x} overflows",
                                   image.pref_address, image.init_size));
  }
  image.kernel_end = GuestAddress(
      std::max(kBzImageLoadAddress + image.kernel_size, runtime_start + uint64_t{image.init_size}));
  return image;
}

Result<GuestAddress> LoadBzImage(const GuestMemory& memory, std::span<const uint8_t> file,
                                 const BzImage& image, std::string_view cmdline,
                                 std::optional<InitrdPlacement> initrd,
                                 std::span<const E820Entry> e820) {
  if (!internal::RangeInside(image.kernel_offset, image.kernel_size, file.size()) ||
      image.setup_header_end > kSetupHeaderLimit ||
      image.setup_header_end < boot::kSetupHeaderOffset) {
    return Error(EINVAL, "the parsed bzImage does not match the kernel file");
  }
  if (e820.empty() || e820.size() > boot::kMaxE820Entries) {
    return Error(EINVAL, fmt::format("e820 map of {} entries (1 to {} fit in the zero page)",
                                     e820.size(), boot::kMaxE820Entries));
  }
  const GuestRegion* region = memory.FindRegion(GuestAddress(kBzImageLoadAddress));
  if (region == nullptr || image.kernel_end > region->end()) {
    return Error(
        ENOMEM, fmt::format("the kernel needs guest RAM up to {} to boot (its image and "
                            "decompression buffer), but RAM below the MMIO hole ends at "
                            "{}: raise --mem",
                            image.kernel_end, region != nullptr ? region->end() : GuestAddress(0)));
  }
  if (initrd && !initrd->addr.CheckedAdd(initrd->size)) {
    return Error(EINVAL, "the initramfs placement overflows");
  }

  HULL_TRY(memory
               .Write(GuestAddress(kBzImageLoadAddress),
                      file.subspan(image.kernel_offset, image.kernel_size))
               .WithContext("loading the bzImage's protected-mode kernel at 1 MiB"));
  HULL_TRY(WriteCmdline(memory, cmdline, image.cmdline_size));

  // A clean zero page with the file's setup header in it (boot.rst: never
  // copy more, the kernel sanitizes what a sloppy loader leaves).
  std::array<uint8_t, sizeof(boot::BootParams)> raw = {};
  std::memcpy(raw.data() + boot::kSetupHeaderOffset, file.data() + boot::kSetupHeaderOffset,
              image.setup_header_end - boot::kSetupHeaderOffset);
  auto params = std::bit_cast<boot::BootParams>(raw);
  params.hdr.type_of_loader = boot::kUndefinedLoader;
  params.hdr.loadflags = static_cast<uint8_t>(params.hdr.loadflags | boot::kCanUseHeap);
  params.hdr.heap_end_ptr = kHeapEndPtr;
  params.hdr.cmd_line_ptr = static_cast<uint32_t>(kCmdlineAddress);
  params.ext_cmd_line_ptr = 0;
  if (initrd) {
    params.hdr.ramdisk_image = static_cast<uint32_t>(initrd->addr.raw());
    params.ext_ramdisk_image = static_cast<uint32_t>(initrd->addr.raw() >> 32);
    params.hdr.ramdisk_size = static_cast<uint32_t>(initrd->size);
    params.ext_ramdisk_size = static_cast<uint32_t>(initrd->size >> 32);
  }
  params.e820_entries = static_cast<uint8_t>(e820.size());
  for (size_t i = 0; i < e820.size(); ++i) {
    params.e820_table[i] = {.addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type};
  }
  HULL_TRY(memory.WriteObject(GuestAddress(kZeroPageAddress), params)
               .WithContext("writing the zero page"));
  return GuestAddress(kBzImageLoadAddress + kBzImage64BitEntryOffset);
}

}  // namespace hull::vmm::x86
