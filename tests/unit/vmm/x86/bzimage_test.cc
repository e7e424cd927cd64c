#include "hull/vmm/x86/bzimage.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "hull/vmm/x86/boot_params.h"
#include "test_images.h"

namespace hull::vmm::x86 {
namespace {

using testing::BzImageSpec;
using testing::GetAt;
using testing::PutAt;

// A packed field's value: gtest's macros take references, which a packed
// (unaligned) field must not bind to.
template <typename T>
T Copy(T value) {
  return value;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(BzImageParse, ReadsTheSetupHeader) {
  const BzImageSpec spec;
  Result<BzImage> image = ParseBzImage(spec.Build());
  ASSERT_TRUE(image.ok()) << image.error().ToString();
  EXPECT_EQ(image->protocol_version, 0x020F);
  EXPECT_EQ(image->setup_sects, 4);
  EXPECT_EQ(image->cmdline_size, 2047u);
  EXPECT_EQ(image->initrd_addr_max, 0x7FFF'FFFFu);
  EXPECT_EQ(image->kernel_offset, 5u * 512);
  EXPECT_EQ(image->kernel_size, 0x1000u);
  EXPECT_EQ(image->setup_header_end, 0x26Cu);
  EXPECT_FALSE(image->relocatable);
  // Not relocatable: it decompresses at pref_address, init_size long.
  EXPECT_EQ(image->kernel_end, GuestAddress(0x100'0000 + 0x80'0000));
}

TEST(BzImageParse, SetupSectsZeroMeansFour) {
  BzImageSpec spec;
  spec.setup_sects = 0;
  Result<BzImage> image = ParseBzImage(spec.Build());
  ASSERT_TRUE(image.ok()) << image.error().ToString();
  EXPECT_EQ(image->setup_sects, 4);
  EXPECT_EQ(image->kernel_offset, 5u * 512);
}

TEST(BzImageParse, ARelocatableKernelRunsAtTheAlignedLoadAddressOrPrefAddress) {
  BzImageSpec spec;
  spec.relocatable = 1;
  spec.pref_address = 0x20'0000;
  spec.kernel_alignment = 0x40'0000;  // 1 MiB aligns up to 4 MiB, above pref_address
  Result<BzImage> image = ParseBzImage(spec.Build());
  ASSERT_TRUE(image.ok()) << image.error().ToString();
  EXPECT_EQ(image->kernel_end, GuestAddress(0x40'0000 + 0x80'0000));
}

TEST(BzImageParse, KernelEndCoversALoadedImageLargerThanInitSize) {
  BzImageSpec spec;
  spec.init_size = 0;
  spec.pref_address = kMiB;
  spec.kernel_size = 0x3000;
  Result<BzImage> image = ParseBzImage(spec.Build());
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->kernel_end, GuestAddress(kMiB + 0x3000));
}

TEST(BzImageParse, CapsTheSetupHeaderCopyAtTheZeroPagesOwnFields) {
  BzImageSpec spec;
  spec.jump_byte = 0xFF;
  Result<BzImage> image = ParseBzImage(spec.Build());
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->setup_header_end, 0x290u);
}

struct ParseErrorCase {
  const char* name;
  std::function<std::vector<uint8_t>()> make;
  const char* expected;
};

void PrintTo(const ParseErrorCase& c, std::ostream* os) { *os << c.name; }

std::vector<uint8_t> Build(std::function<void(BzImageSpec&)> edit) {
  BzImageSpec spec;
  edit(spec);
  return spec.Build();
}

class BzImageParseError : public ::testing::TestWithParam<ParseErrorCase> {};

TEST_P(BzImageParseError, RejectsTheImageSayingWhy) {
  const ParseErrorCase& c = GetParam();
  Result<BzImage> image = ParseBzImage(c.make());
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.error().code(), ENOEXEC);
  EXPECT_TRUE(Contains(image.error().message(), c.expected))
      << "message: " << image.error().message() << "\nexpected: " << c.expected;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BzImageParseError,
    ::testing::Values(
        ParseErrorCase{"Empty", [] { return std::vector<uint8_t>(); },
                       "truncated bzImage: 0 bytes"},
        ParseErrorCase{"TruncatedHeader",
                       [] {
                         auto f = BzImageSpec().Build();
                         f.resize(0x260);
                         return f;
                       },
                       "truncated bzImage"},
        ParseErrorCase{"NoBootFlag",
                       [] {
                         auto f = BzImageSpec().Build();
                         PutAt(f, 0x1FE, uint16_t{0});
                         return f;
                       },
                       "no boot flag 0xAA55"},
        ParseErrorCase{"NoHdrS",
                       [] {
                         auto f = BzImageSpec().Build();
                         f[0x202] = 'h';
                         return f;
                       },
                       "no \"HdrS\""},
        ParseErrorCase{"OldProtocol",
                       [] { return Build([](BzImageSpec& s) { s.version = 0x0205; }); },
                       "boot protocol 2.05 is older than 2.06"},
        ParseErrorCase{"NotLoadedHigh",
                       [] { return Build([](BzImageSpec& s) { s.loadflags = 0; }); },
                       "LOADED_HIGH"},
        ParseErrorCase{"No64BitEntry",
                       [] { return Build([](BzImageSpec& s) { s.xloadflags = 2; }); },
                       "XLF_KERNEL_64"},
        ParseErrorCase{"NoKernelAfterTheSetup",
                       [] { return Build([](BzImageSpec& s) { s.kernel_size = 0; }); },
                       "leaves no protected-mode kernel"},
        ParseErrorCase{"SetupLongerThanTheFile",
                       [] {
                         auto f = BzImageSpec().Build();
                         f[0x1F1] = 200;
                         return f;
                       },
                       "leaves no protected-mode kernel"},
        ParseErrorCase{"SetupSectsZeroTruncated",
                       [] {
                         auto f = Build([](BzImageSpec& s) { s.setup_sects = 0; });
                         f.resize(5 * 512);
                         return f;
                       },
                       "(4 sectors) leaves no protected-mode kernel"},
        ParseErrorCase{"RelocatableWithOddAlignment",
                       [] {
                         return Build([](BzImageSpec& s) {
                           s.relocatable = 1;
                           s.kernel_alignment = 0x30'0000;
                         });
                       },
                       "power of two"},
        ParseErrorCase{"RelocatableWithZeroAlignment",
                       [] {
                         return Build([](BzImageSpec& s) {
                           s.relocatable = 1;
                           s.kernel_alignment = 0;
                         });
                       },
                       "power of two"},
        ParseErrorCase{"RunsBelowOneMiB",
                       [] { return Build([](BzImageSpec& s) { s.pref_address = 0x1000; }); },
                       "below 1 MiB"},
        ParseErrorCase{"PrefAddressPlusInitSizeOverflows",
                       [] {
                         return Build([](BzImageSpec& s) {
                           s.pref_address = UINT64_MAX - 0x1000;
                           s.init_size = 0x10'0000;
                         });
                       },
                       "overflows"}),
    [](const ::testing::TestParamInfo<ParseErrorCase>& param_info) {
      return param_info.param.name;
    });

GuestMemory MakeMemory(uint64_t size = 64 * kMiB) {
  Result<GuestMemory> memory = GuestMemory::Create({{GuestAddress(0), size}});
  EXPECT_TRUE(memory.ok()) << memory.error().ToString();
  return std::move(memory).value();
}

TEST(BzImageLoad, LoadsTheKernelAtOneMiBAndReturnsThe64BitEntry) {
  const GuestMemory memory = MakeMemory();
  const auto file = BzImageSpec().Build();
  const BzImage image = ParseBzImage(file).value();
  const auto e820 = BuildE820(64 * kMiB).value();
  Result<GuestAddress> entry =
      LoadBzImage(memory, file, image, "console=ttyS0", std::nullopt, e820);
  ASSERT_TRUE(entry.ok()) << entry.error().ToString();
  EXPECT_EQ(*entry, GuestAddress(0x10'0200));
  std::vector<uint8_t> kernel(0x1000);
  ASSERT_TRUE(memory.Read(GuestAddress(kMiB), kernel).ok());
  EXPECT_EQ(kernel, std::vector<uint8_t>(0x1000, 0xCD));
}

TEST(BzImageLoad, WritesTheZeroPageFields) {
  const GuestMemory memory = MakeMemory();
  const auto file = BzImageSpec().Build();
  const BzImage image = ParseBzImage(file).value();
  const auto e820 = BuildE820(64 * kMiB).value();
  const InitrdPlacement initrd = {.addr = GuestAddress(0x300'0000), .size = 0x12345};
  ASSERT_TRUE(LoadBzImage(memory, file, image, "quiet", initrd, e820).ok());

  const auto params = memory.ReadObject<boot::BootParams>(GuestAddress(kZeroPageAddress)).value();
  EXPECT_EQ(Copy(params.hdr.boot_flag), 0xAA55);
  EXPECT_EQ(Copy(params.hdr.header), boot::kHeaderMagic);
  EXPECT_EQ(Copy(params.hdr.version), 0x020F);
  EXPECT_EQ(Copy(params.hdr.type_of_loader), 0xFF);
  EXPECT_EQ(Copy(params.hdr.loadflags), boot::kLoadedHigh | boot::kCanUseHeap);
  EXPECT_EQ(Copy(params.hdr.heap_end_ptr), 0xFE00);
  EXPECT_EQ(Copy(params.hdr.cmd_line_ptr), kCmdlineAddress);
  EXPECT_EQ(Copy(params.ext_cmd_line_ptr), 0u);
  EXPECT_EQ(Copy(params.hdr.ramdisk_image), 0x300'0000u);
  EXPECT_EQ(Copy(params.hdr.ramdisk_size), 0x12345u);
  EXPECT_EQ(Copy(params.hdr.kernel_alignment), 0x20'0000u) << "copied from the file";
  EXPECT_EQ(Copy(params.sentinel), 0) << "a non-zero sentinel makes the kernel wipe fields";
  ASSERT_EQ(Copy(params.e820_entries), e820.size());
  for (size_t i = 0; i < e820.size(); ++i) {
    EXPECT_EQ(Copy(params.e820_table[i].addr), e820[i].addr);
    EXPECT_EQ(Copy(params.e820_table[i].size), e820[i].size);
    EXPECT_EQ(Copy(params.e820_table[i].type), e820[i].type);
  }
  std::vector<uint8_t> cmdline(6);
  ASSERT_TRUE(memory.Read(GuestAddress(kCmdlineAddress), cmdline).ok());
  EXPECT_EQ(cmdline, (std::vector<uint8_t>{'q', 'u', 'i', 'e', 't', 0}));
}

TEST(BzImageLoad, HonoursTheKernelsCmdlineSize) {
  const GuestMemory memory = MakeMemory();
  BzImageSpec spec;
  spec.cmdline_size = 10;
  const auto file = spec.Build();
  const BzImage image = ParseBzImage(file).value();
  const auto e820 = BuildE820(64 * kMiB).value();
  EXPECT_TRUE(LoadBzImage(memory, file, image, "0123456789", std::nullopt, e820).ok());
  Result<GuestAddress> entry = LoadBzImage(memory, file, image, "0123456789a", std::nullopt, e820);
  ASSERT_FALSE(entry.ok());
  EXPECT_TRUE(Contains(entry.error().message(), "at most 10")) << entry.error().message();
}

TEST(BzImageLoad, FailsWhenDecompressionWouldPassTheEndOfRam) {
  const GuestMemory memory = MakeMemory();
  BzImageSpec spec;
  spec.init_size = 0x400'0000;  // 16 MiB + 64 MiB > 64 MiB of RAM
  const auto file = spec.Build();
  const BzImage image = ParseBzImage(file).value();
  const auto e820 = BuildE820(64 * kMiB).value();
  Result<GuestAddress> entry = LoadBzImage(memory, file, image, "", std::nullopt, e820);
  ASSERT_FALSE(entry.ok());
  EXPECT_EQ(entry.error().code(), ENOMEM);
  EXPECT_TRUE(Contains(entry.error().message(), "raise --mem")) << entry.error().message();
}

TEST(BzImageLoad, RejectsAParseOfAnotherFile) {
  const GuestMemory memory = MakeMemory();
  const auto file = BzImageSpec().Build();
  const BzImage image = ParseBzImage(file).value();
  const std::vector<uint8_t> shorter(file.begin(), file.end() - 1);
  const auto e820 = BuildE820(64 * kMiB).value();
  EXPECT_FALSE(LoadBzImage(memory, shorter, image, "", std::nullopt, e820).ok());
}

}  // namespace
}  // namespace hull::vmm::x86
