#pragma once

// The x86 Linux boot protocol's structures (Documentation/x86/boot.rst and
// zero-page.rst; arch/x86/include/uapi/asm/bootparam.h): the setup header a
// bzImage carries at 0x1F1, and the 4 KiB "zero page" (struct boot_params)
// that holds it, handed to the kernel in %rsi. Only the fields hull writes or
// reads are named; the rest is padding of the right size.

#include <cstddef>
#include <cstdint>

namespace hull::vmm::x86 {

namespace boot {

inline constexpr uint16_t kBootFlag = 0xAA55;         // at 0x1FE
inline constexpr uint32_t kHeaderMagic = 0x53726448;  // "HdrS" at 0x202
inline constexpr uint16_t kMinProtocol = 0x0206;      // cmdline_size appears
inline constexpr uint8_t kLoadedHigh = 1u << 0;       // loadflags
inline constexpr uint8_t kCanUseHeap = 1u << 7;       // loadflags
inline constexpr uint16_t kXlfKernel64 = 1u << 0;     // xloadflags: 64-bit entry at +0x200
inline constexpr uint8_t kUndefinedLoader = 0xFF;     // type_of_loader
inline constexpr uint64_t kSetupHeaderOffset = 0x1F1;
// The setup header's end is 0x202 + the byte at 0x201 (its jump's offset).
inline constexpr uint64_t kSetupHeaderJumpOffset = 0x201;
inline constexpr uint64_t kMaxE820Entries = 128;  // E820_MAX_ENTRIES_ZEROPAGE

#pragma pack(push, 1)
struct SetupHeader {
  uint8_t setup_sects;
  uint16_t root_flags;
  uint32_t syssize;
  uint16_t ram_size;
  uint16_t vid_mode;
  uint16_t root_dev;
  uint16_t boot_flag;
  uint16_t jump;
  uint32_t header;
  uint16_t version;
  uint32_t realmode_swtch;
  uint16_t start_sys_seg;
  uint16_t kernel_version;
  uint8_t type_of_loader;
  uint8_t loadflags;
  uint16_t setup_move_size;
  uint32_t code32_start;
  uint32_t ramdisk_image;
  uint32_t ramdisk_size;
  uint32_t bootsect_kludge;
  uint16_t heap_end_ptr;
  uint8_t ext_loader_ver;
  uint8_t ext_loader_type;
  uint32_t cmd_line_ptr;
  uint32_t initrd_addr_max;
  uint32_t kernel_alignment;
  uint8_t relocatable_kernel;
  uint8_t min_alignment;
  uint16_t xloadflags;
  uint32_t cmdline_size;
  uint32_t hardware_subarch;
  uint64_t hardware_subarch_data;
  uint32_t payload_offset;
  uint32_t payload_length;
  uint64_t setup_data;
  uint64_t pref_address;
  uint32_t init_size;
  uint32_t handover_offset;
  uint32_t kernel_info_offset;
};

struct E820Entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};

struct BootParams {
  uint8_t pad0[0x0C0];
  uint32_t ext_ramdisk_image;
  uint32_t ext_ramdisk_size;
  uint32_t ext_cmd_line_ptr;
  uint8_t pad1[0x1E8 - 0x0CC];
  uint8_t e820_entries;
  uint8_t pad2[0x1EF - 0x1E9];
  uint8_t sentinel;
  uint8_t pad3[1];
  SetupHeader hdr;
  uint8_t pad4[0x2D0 - 0x1F1 - sizeof(SetupHeader)];
  E820Entry e820_table[kMaxE820Entries];
  uint8_t pad5[0x1000 - 0xCD0];
};
#pragma pack(pop)

// Offsets within the setup header are the documented ones minus 0x1F1.
#define HULL_SETUP_HEADER_AT(field, offset) \
  static_assert(offsetof(SetupHeader, field) + kSetupHeaderOffset == (offset))
HULL_SETUP_HEADER_AT(setup_sects, 0x1F1);
HULL_SETUP_HEADER_AT(syssize, 0x1F4);
HULL_SETUP_HEADER_AT(boot_flag, 0x1FE);
HULL_SETUP_HEADER_AT(jump, 0x200);
HULL_SETUP_HEADER_AT(header, 0x202);
HULL_SETUP_HEADER_AT(version, 0x206);
HULL_SETUP_HEADER_AT(type_of_loader, 0x210);
HULL_SETUP_HEADER_AT(loadflags, 0x211);
HULL_SETUP_HEADER_AT(code32_start, 0x214);
HULL_SETUP_HEADER_AT(ramdisk_image, 0x218);
HULL_SETUP_HEADER_AT(ramdisk_size, 0x21C);
HULL_SETUP_HEADER_AT(heap_end_ptr, 0x224);
HULL_SETUP_HEADER_AT(cmd_line_ptr, 0x228);
HULL_SETUP_HEADER_AT(initrd_addr_max, 0x22C);
HULL_SETUP_HEADER_AT(kernel_alignment, 0x230);
HULL_SETUP_HEADER_AT(relocatable_kernel, 0x234);
HULL_SETUP_HEADER_AT(xloadflags, 0x236);
HULL_SETUP_HEADER_AT(cmdline_size, 0x238);
HULL_SETUP_HEADER_AT(setup_data, 0x250);
HULL_SETUP_HEADER_AT(pref_address, 0x258);
HULL_SETUP_HEADER_AT(init_size, 0x260);
HULL_SETUP_HEADER_AT(kernel_info_offset, 0x268);
#undef HULL_SETUP_HEADER_AT
static_assert(sizeof(SetupHeader) == 0x26C - 0x1F1);

static_assert(sizeof(E820Entry) == 20);
static_assert(sizeof(BootParams) == 0x1000);
static_assert(offsetof(BootParams, ext_ramdisk_image) == 0x0C0);
static_assert(offsetof(BootParams, ext_cmd_line_ptr) == 0x0C8);
static_assert(offsetof(BootParams, e820_entries) == 0x1E8);
static_assert(offsetof(BootParams, sentinel) == 0x1EF);
static_assert(offsetof(BootParams, hdr) == 0x1F1);
static_assert(offsetof(BootParams, e820_table) == 0x2D0);

}  // namespace boot

}  // namespace hull::vmm::x86
