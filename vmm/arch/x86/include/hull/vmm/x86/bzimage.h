#pragma once

// A compressed Linux kernel (bzImage) booted through the 64-bit boot protocol
// (Documentation/x86/boot.rst): the protected-mode part loads at 1 MiB, the
// vCPU starts in long mode at 1 MiB + 0x200 with %rsi at the zero page.
// The image is untrusted input: every field is checked before use.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_address.h"
#include "hull/vmm/memory/guest_memory.h"
#include "hull/vmm/x86/initrd.h"
#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {

// Where the protected-mode kernel goes, and its 64-bit entry's offset.
inline constexpr uint64_t kBzImageLoadAddress = kHighMemoryStart;
inline constexpr uint64_t kBzImage64BitEntryOffset = 0x200;

struct BzImage {
  uint16_t protocol_version = 0;
  uint8_t setup_sects = 0;  // 0 in the file means 4
  uint8_t loadflags = 0;
  uint16_t xloadflags = 0;
  uint32_t cmdline_size = 0;  // characters, NUL excluded
  uint32_t initrd_addr_max = 0;
  uint32_t kernel_alignment = 0;
  bool relocatable = false;
  uint64_t pref_address = 0;
  uint32_t init_size = 0;
  // File offsets: the setup header's end (capped at the zero page's header
  // area), and the protected-mode kernel [kernel_offset, +kernel_size).
  uint64_t setup_header_end = 0;
  uint64_t kernel_offset = 0;
  uint64_t kernel_size = 0;
  // The first byte the kernel does not need while it boots: past both the
  // loaded image and its decompression buffer (init_size bytes from where it
  // runs: pref_address, or for a relocatable kernel 1 MiB aligned up to
  // kernel_alignment if that is higher).
  GuestAddress kernel_end;
};

// Validates the boot sector and setup header: boot_flag 0xAA55, "HdrS",
// protocol 2.06 or later, LOADED_HIGH, XLF_KERNEL_64 (the 64-bit entry),
// a setup of (setup_sects + 1) * 512 bytes followed by a non-empty kernel,
// a power-of-two kernel_alignment for relocatable kernels, no overflow in
// the derived kernel_end.
Result<BzImage> ParseBzImage(std::span<const uint8_t> file);

// Loads a parsed bzImage: the protected-mode kernel at 1 MiB, the command
// line at kCmdlineAddress, and a zero page at kZeroPageAddress made of the
// file's setup header (type_of_loader 0xFF, CAN_USE_HEAP, cmd_line_ptr, the
// initramfs placement) and `e820`. The kernel's whole kernel_end must lie in
// RAM below the hole. Returns the 64-bit entry, 1 MiB + 0x200.
Result<GuestAddress> LoadBzImage(const GuestMemory& memory, std::span<const uint8_t> file,
                                 const BzImage& image, std::string_view cmdline,
                                 std::optional<InitrdPlacement> initrd,
                                 std::span<const E820Entry> e820);

}  // namespace hull::vmm::x86
