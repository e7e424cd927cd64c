// A real-mode guest that exercises every exit a device model answers: port
// writes and reads, MMIO writes and reads, and HLT, in an exact order.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "hull/vmm/kvm/memory_slots.h"
#include "hull/vmm/kvm/vcpu.h"
#include "hull/vmm/kvm/vm.h"
#include "hull/vmm/memory/guest_memory.h"
#include "kvm_test_support.h"

namespace hull::kvm {
namespace {

constexpr uint64_t kRamSize = 64 * 1024;  // one slot: guest [0, 0x10000)
constexpr uint64_t kCodeAddress = 0x1000;
constexpr uint64_t kDataAddress = 0x2000;
constexpr uint16_t kPort = 0x3f8;
constexpr uint64_t kMmioAddress = 0x10010;  // DS 0x1000 : 0x10, past the slot

// 16-bit real-mode code, loaded at kCodeAddress with CS base 0.
constexpr uint8_t kGuestCode[] = {
    0xba, 0xf8, 0x03,  // mov dx, 0x3f8
    0xb0, 'H',         // mov al, 'H'
    0xee,              // out dx, al       -> IoOut 0x3f8 'H'
    0xb0, 'i',         // mov al, 'i'
    0xee,              // out dx, al       -> IoOut 0x3f8 'i'
    0xec,              // in al, dx        -> IoIn 0x3f8; the test answers 0x5a
    0xfe, 0xc0,        // inc al           ; al = 0x5b
    0xee,              // out dx, al       -> IoOut 0x5b: the IN data reached the guest
    0xa2, 0x00, 0x20,  // mov [0x2000], al ; RAM, no exit: read back through GuestMemory
    0xb8, 0x00, 0x10,  // mov ax, 0x1000
    0x8e, 0xd8,        // mov ds, ax       ; DS base 0x10000, outside every slot
    0xb0, 0xa5,        // mov al, 0xa5
    0xa2, 0x10, 0x00,  // mov [0x10], al   -> MmioWrite 0x10010 a5
    0xa0, 0x10, 0x00,  // mov al, [0x10]   -> MmioRead 0x10010; the test answers 0x3c
    0xee,              // out dx, al       -> IoOut 0x3c: the MMIO data reached the guest
    0xf4,              // hlt              -> Hlt
};

std::vector<uint8_t> Bytes(std::span<const uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

// Runs the vCPU once and checks that it stopped with an exit of type T.
template <typename T>
::testing::AssertionResult NextExitIs(Vcpu& vcpu, T* out) {
  Result<VcpuExit> exit = vcpu.Run();
  if (!exit.ok()) {
    return ::testing::AssertionFailure() << "KVM_RUN failed: " << exit.error().ToString();
  }
  if (const T* typed = std::get_if<T>(&*exit)) {
    *out = *typed;
    return ::testing::AssertionSuccess();
  }
  auto failure = ::testing::AssertionFailure() << "expected a " << ExitName(VcpuExit(T{}))
                                               << " exit, got " << DescribeExit(*exit);
  if (Result<Regs> regs = vcpu.GetRegs(); regs.ok()) {
    failure << " at rip 0x" << std::hex << regs->rip;
  }
  return failure;
}

class RealModeGuest : public KvmTest {
 protected:
  void SetUp() override {
    KvmTest::SetUp();
    if (HasFatalFailure()) return;
    Result<void> built = Build();
    ASSERT_TRUE(built.ok()) << built.error().ToString();
  }

  Result<void> Build() {
    HULL_ASSIGN_OR_RETURN(memory_, vmm::GuestMemory::Create({{vmm::GuestAddress(0), kRamSize}}));
    HULL_TRY(memory_->Write(vmm::GuestAddress(kCodeAddress), kGuestCode));
    HULL_ASSIGN_OR_RETURN(vm_, Vm::Create(kvm()));
    HULL_TRY(RegisterGuestMemory(*vm_, *memory_));
    HULL_ASSIGN_OR_RETURN(vcpu_, Vcpu::Create(*vm_, 0));

    // Real mode with every segment at base 0 (CS would start at 0xffff0000).
    HULL_ASSIGN_OR_RETURN(Sregs sregs, vcpu_->GetSregs());
    for (Segment* segment : {&sregs.cs, &sregs.ds, &sregs.es, &sregs.ss}) {
      segment->base = 0;
      segment->selector = 0;
    }
    HULL_TRY(vcpu_->SetSregs(sregs));
    Regs regs = {};
    regs.rip = kCodeAddress;
    regs.rflags = 0x2;  // bit 1 is reserved and must be set
    HULL_TRY(vcpu_->SetRegs(regs));
    return {};
  }

  Vcpu& vcpu() { return *vcpu_; }
  const vmm::GuestMemory& memory() { return *memory_; }

 private:
  // Declared so that the vCPU goes first, then the VM, then its memory.
  std::optional<vmm::GuestMemory> memory_;
  std::optional<Vm> vm_;
  std::optional<Vcpu> vcpu_;
};

TEST_F(RealModeGuest, ProducesExactlyTheExpectedExitsAndSeesTheAnswers) {
  IoOut out;
  ASSERT_TRUE(NextExitIs(vcpu(), &out));
  EXPECT_EQ(out.port, kPort);
  EXPECT_EQ(out.size, 1);
  EXPECT_EQ(out.count, 1u);
  EXPECT_EQ(Bytes(out.bytes), std::vector<uint8_t>{'H'});

  ASSERT_TRUE(NextExitIs(vcpu(), &out));
  EXPECT_EQ(out.port, kPort);
  EXPECT_EQ(Bytes(out.bytes), std::vector<uint8_t>{'i'});

  IoIn in;
  ASSERT_TRUE(NextExitIs(vcpu(), &in));
  EXPECT_EQ(in.port, kPort);
  EXPECT_EQ(in.size, 1);
  EXPECT_EQ(in.count, 1u);
  const std::array<uint8_t, 2> wrong_length = {0x5a, 0x5a};
  EXPECT_FALSE(vcpu().SetIoInData(wrong_length).ok());
  const std::array<uint8_t, 1> in_answer = {0x5a};
  Result<void> answered = vcpu().SetIoInData(in_answer);
  ASSERT_TRUE(answered.ok()) << answered.error().ToString();

  ASSERT_TRUE(NextExitIs(vcpu(), &out));
  EXPECT_EQ(out.port, kPort);
  EXPECT_EQ(Bytes(out.bytes), std::vector<uint8_t>{0x5b});

  MmioWrite mmio_write;
  ASSERT_TRUE(NextExitIs(vcpu(), &mmio_write));
  EXPECT_EQ(mmio_write.addr, vmm::GuestAddress(kMmioAddress));
  EXPECT_EQ(Bytes(mmio_write.bytes), std::vector<uint8_t>{0xa5});

  MmioRead mmio_read;
  ASSERT_TRUE(NextExitIs(vcpu(), &mmio_read));
  EXPECT_EQ(mmio_read.addr, vmm::GuestAddress(kMmioAddress));
  EXPECT_EQ(mmio_read.len, 1u);
  const std::array<uint8_t, 1> mmio_answer = {0x3c};
  answered = vcpu().SetMmioReadData(mmio_answer);
  ASSERT_TRUE(answered.ok()) << answered.error().ToString();

  ASSERT_TRUE(NextExitIs(vcpu(), &out));
  EXPECT_EQ(out.port, kPort);
  EXPECT_EQ(Bytes(out.bytes), std::vector<uint8_t>{0x3c});

  Hlt hlt;
  ASSERT_TRUE(NextExitIs(vcpu(), &hlt));

  // The guest's store went to the memfd-backed mapping hull reads.
  Result<uint8_t> stored = memory().ReadObject<uint8_t>(vmm::GuestAddress(kDataAddress));
  ASSERT_TRUE(stored.ok()) << stored.error().ToString();
  EXPECT_EQ(*stored, 0x5b);

  Result<Regs> regs = vcpu().GetRegs();
  ASSERT_TRUE(regs.ok()) << regs.error().ToString();
  EXPECT_EQ(regs->rip, kCodeAddress + sizeof(kGuestCode));  // just past the hlt
}

}  // namespace
}  // namespace hull::kvm
