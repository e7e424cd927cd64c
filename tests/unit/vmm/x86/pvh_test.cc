#include "hull/vmm/x86/pvh.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hull::vmm::x86 {
namespace {

GuestMemory MakeMemory() {
  Result<GuestMemory> memory = GuestMemory::Create({{GuestAddress(0), 64 * kMiB}});
  EXPECT_TRUE(memory.ok()) << memory.error().ToString();
  return std::move(memory).value();
}

std::string ReadCmdline(const GuestMemory& memory) {
  std::vector<uint8_t> bytes(kCmdlineCapacity);
  EXPECT_TRUE(memory.Read(GuestAddress(kCmdlineAddress), bytes).ok());
  return std::string(reinterpret_cast<const char*>(bytes.data()));
}

TEST(X86PvhBootInfo, StartInfoLayoutMatchesTheXenHeader) {
  // Offsets from xen/include/public/arch-x86/hvm/start_info.h.
  EXPECT_EQ(offsetof(pvh::StartInfo, magic), 0u);
  EXPECT_EQ(offsetof(pvh::StartInfo, version), 4u);
  EXPECT_EQ(offsetof(pvh::StartInfo, flags), 8u);
  EXPECT_EQ(offsetof(pvh::StartInfo, nr_modules), 12u);
  EXPECT_EQ(offsetof(pvh::StartInfo, modlist_paddr), 16u);
  EXPECT_EQ(offsetof(pvh::StartInfo, cmdline_paddr), 24u);
  EXPECT_EQ(offsetof(pvh::StartInfo, rsdp_paddr), 32u);
  EXPECT_EQ(offsetof(pvh::StartInfo, memmap_paddr), 40u);
  EXPECT_EQ(offsetof(pvh::StartInfo, memmap_entries), 48u);
  EXPECT_EQ(sizeof(pvh::StartInfo), 56u);
  EXPECT_EQ(sizeof(pvh::ModlistEntry), 32u);
  EXPECT_EQ(sizeof(pvh::MemmapEntry), 24u);
}

TEST(X86PvhBootInfo, WritesStartInfoMemmapAndCommandLine) {
  const GuestMemory memory = MakeMemory();
  const std::vector<E820Entry> e820 = BuildE820(64 * kMiB).value();
  Result<GuestAddress> info = WritePvhBootInfo(memory, "console=ttyS0", std::nullopt, e820);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(*info, GuestAddress(0x6000));

  const auto start = memory.ReadObject<pvh::StartInfo>(*info).value();
  EXPECT_EQ(start.magic, 0x336ec578u);
  EXPECT_EQ(start.version, 1u);
  EXPECT_EQ(start.flags, 0u);
  EXPECT_EQ(start.nr_modules, 0u);
  EXPECT_EQ(start.modlist_paddr, 0u);
  EXPECT_EQ(start.rsdp_paddr, 0u);
  EXPECT_EQ(start.cmdline_paddr, kCmdlineAddress);
  EXPECT_EQ(start.memmap_paddr, kPvhMemmapAddress);
  ASSERT_EQ(start.memmap_entries, e820.size());
  for (size_t i = 0; i < e820.size(); ++i) {
    const auto entry =
        memory.ReadObject<pvh::MemmapEntry>(GuestAddress(kPvhMemmapAddress + i * 24)).value();
    EXPECT_EQ(entry.addr, e820[i].addr);
    EXPECT_EQ(entry.size, e820[i].size);
    EXPECT_EQ(entry.type, e820[i].type);
    EXPECT_EQ(entry.reserved, 0u);
  }
  EXPECT_EQ(ReadCmdline(memory), "console=ttyS0");
}

TEST(X86PvhBootInfo, DescribesTheInitramfsAsModuleZero) {
  const GuestMemory memory = MakeMemory();
  const std::vector<E820Entry> e820 = BuildE820(64 * kMiB).value();
  const InitrdPlacement initrd = {.addr = GuestAddress(0x300'0000), .size = 12345};
  ASSERT_TRUE(WritePvhBootInfo(memory, "", initrd, e820).ok());
  const auto start = memory.ReadObject<pvh::StartInfo>(GuestAddress(0x6000)).value();
  EXPECT_EQ(start.nr_modules, 1u);
  EXPECT_EQ(start.modlist_paddr, kPvhModlistAddress);
  const auto module =
      memory.ReadObject<pvh::ModlistEntry>(GuestAddress(kPvhModlistAddress)).value();
  EXPECT_EQ(module.paddr, 0x300'0000u);
  EXPECT_EQ(module.size, 12345u);
  EXPECT_EQ(module.cmdline_paddr, 0u);
}

TEST(X86PvhBootInfo, RejectsCommandLinesLongerThan2047Characters) {
  const GuestMemory memory = MakeMemory();
  const std::vector<E820Entry> e820 = BuildE820(64 * kMiB).value();
  EXPECT_TRUE(WritePvhBootInfo(memory, std::string(2047, 'x'), std::nullopt, e820).ok());
  Result<GuestAddress> info = WritePvhBootInfo(memory, std::string(2048, 'x'), std::nullopt, e820);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().message().find("at most 2047"), std::string::npos)
      << info.error().message();
}

TEST(X86PvhBootInfo, RejectsCommandLinesWithANul) {
  const GuestMemory memory = MakeMemory();
  const std::vector<E820Entry> e820 = BuildE820(64 * kMiB).value();
  EXPECT_FALSE(WritePvhBootInfo(memory, std::string("a\0b", 3), std::nullopt, e820).ok());
}

TEST(X86PvhBootInfo, RejectsAnEmptyOrOversizedMemoryMap) {
  const GuestMemory memory = MakeMemory();
  EXPECT_FALSE(WritePvhBootInfo(memory, "", std::nullopt, {}).ok());
  const std::vector<E820Entry> huge(kMaxPvhMemmapEntries + 1, E820Entry{0, 4096, kE820Ram});
  EXPECT_FALSE(WritePvhBootInfo(memory, "", std::nullopt, huge).ok());
}

}  // namespace
}  // namespace hull::vmm::x86
