#include "hull/vmm/x86/boot_params.h"

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cstring>

namespace hull::vmm::x86 {
namespace {

template <typename T>
T ReadAt(const std::array<uint8_t, 4096>& raw, size_t offset) {
  T value;
  std::memcpy(&value, raw.data() + offset, sizeof(T));
  return value;
}

// Fields set through the struct land at the offsets zero-page.rst and
// boot.rst document.
TEST(X86BootParams, FieldsLandAtTheirDocumentedOffsets) {
  boot::BootParams params = {};
  params.ext_ramdisk_image = 0x11111111;
  params.ext_cmd_line_ptr = 0x22222222;
  params.e820_entries = 0x33;
  params.hdr.setup_sects = 0x44;
  params.hdr.boot_flag = 0xAA55;
  params.hdr.header = boot::kHeaderMagic;
  params.hdr.version = 0x020F;
  params.hdr.type_of_loader = 0xFF;
  params.hdr.loadflags = 0x81;
  params.hdr.ramdisk_image = 0x55555555;
  params.hdr.ramdisk_size = 0x66666666;
  params.hdr.heap_end_ptr = 0xFE00;
  params.hdr.cmd_line_ptr = 0x20000;
  params.hdr.initrd_addr_max = 0x7FFFFFFF;
  params.hdr.kernel_alignment = 0x200000;
  params.hdr.xloadflags = 0x1F;
  params.hdr.cmdline_size = 0x7FF;
  params.hdr.pref_address = 0x1000000;
  params.hdr.init_size = 0x2000000;
  params.e820_table[0] = {.addr = 0x77, .size = 0x88, .type = 2};
  params.e820_table[127] = {.addr = 0x99, .size = 0xAA, .type = 1};
  const auto raw = std::bit_cast<std::array<uint8_t, 4096>>(params);

  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x0C0), 0x11111111u);
  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x0C8), 0x22222222u);
  EXPECT_EQ(ReadAt<uint8_t>(raw, 0x1E8), 0x33);
  EXPECT_EQ(ReadAt<uint8_t>(raw, 0x1F1), 0x44);
  EXPECT_EQ(ReadAt<uint16_t>(raw, 0x1FE), 0xAA55);
  EXPECT_EQ(std::memcmp(raw.data() + 0x202, "HdrS", 4), 0);
  EXPECT_EQ(ReadAt<uint16_t>(raw, 0x206), 0x020F);
  EXPECT_EQ(ReadAt<uint8_t>(raw, 0x210), 0xFF);
  EXPECT_EQ(ReadAt<uint8_t>(raw, 0x211), 0x81);
  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x218), 0x55555555u);
  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x21C), 0x66666666u);
  EXPECT_EQ(ReadAt<uint16_t>(raw, 0x224), 0xFE00);
  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x228), 0x20000u);
  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x22C), 0x7FFFFFFFu);
  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x230), 0x200000u);
  EXPECT_EQ(ReadAt<uint16_t>(raw, 0x236), 0x1F);
  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x238), 0x7FFu);
  EXPECT_EQ(ReadAt<uint64_t>(raw, 0x258), 0x1000000u);
  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x260), 0x2000000u);
  EXPECT_EQ(ReadAt<uint64_t>(raw, 0x2D0), 0x77u);
  EXPECT_EQ(ReadAt<uint64_t>(raw, 0x2D8), 0x88u);
  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x2E0), 2u);
  EXPECT_EQ(ReadAt<uint64_t>(raw, 0x2D0 + 127 * 20), 0x99u);
  EXPECT_EQ(ReadAt<uint32_t>(raw, 0x2D0 + 127 * 20 + 16), 1u);
}

}  // namespace
}  // namespace hull::vmm::x86
