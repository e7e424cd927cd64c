#include "hull/vmm/x86/mptable.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "bytes.h"
#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {
namespace {

// The processor entries' CPU signature (family 6) and feature flags (FPU,
// APIC). Linux reads neither from the table: it asks CPUID.
constexpr uint32_t kCpuSignature = 0x600;
constexpr uint32_t kCpuFeatureFpu = 1u << 0;
constexpr uint32_t kCpuFeatureApic = 1u << 9;

// Every ISA IRQ goes to the IOAPIC pin of the same number, as KVM's default
// GSI routing wires them (kvm_setup_default_irq_routing).
constexpr uint32_t kIsaIrqs = kIoapicPins;

template <size_t N>
void CopyText(char (&field)[N], const char (&text)[N + 1]) {
  std::memcpy(field, text, N);
}

}  // namespace

uint64_t MpTableSize(uint32_t num_cpus) {
  return sizeof(mp::FloatingPointer) + sizeof(mp::ConfigTable) +
         sizeof(mp::Processor) * uint64_t{num_cpus} + sizeof(mp::Bus) + sizeof(mp::Ioapic) +
         sizeof(mp::IoInterrupt) * kIsaIrqs + sizeof(mp::LocalInterrupt) * 2;
}

Result<void> WriteMpTable(const GuestMemory& memory, uint32_t num_cpus) {
  if (num_cpus == 0 || num_cpus > kMaxVcpus) {
    return Error(EINVAL,
                 fmt::format("MP table: {} vCPUs; hull supports 1 to {}", num_cpus, kMaxVcpus));
  }
  const uint8_t ioapic_id = static_cast<uint8_t>(num_cpus);
  const uint64_t config_address = kMpTableAddress + sizeof(mp::FloatingPointer);

  // The entries first: the header needs their length and checksum.
  std::vector<uint8_t> entries;
  for (uint32_t id = 0; id < num_cpus; ++id) {
    internal::AppendBytes(entries, mp::Processor{
                                       .type = mp::kProcessor,
                                       .apic_id = static_cast<uint8_t>(id),
                                       .apic_version = mp::kLapicVersion,
                                       .cpu_flags = static_cast<uint8_t>(
                                           mp::kCpuEnabled | (id == 0 ? mp::kCpuBootProcessor : 0)),
                                       .cpu_signature = kCpuSignature,
                                       .feature_flags = kCpuFeatureFpu | kCpuFeatureApic,
                                       .reserved = {0, 0},
                                   });
  }
  mp::Bus bus = {.type = mp::kBus, .bus_id = 0, .bus_type = {}};
  CopyText(bus.bus_type, "ISA   ");
  internal::AppendBytes(entries, bus);
  internal::AppendBytes(entries, mp::Ioapic{
                                     .type = mp::kIoapic,
                                     .apic_id = ioapic_id,
                                     .apic_version = mp::kIoapicVersion,
                                     .flags = mp::kIoapicUsable,
                                     .address = static_cast<uint32_t>(kIoapicAddress),
                                 });
  for (uint32_t irq = 0; irq < kIsaIrqs; ++irq) {
    // Flags 0: polarity and trigger conform to the bus (ISA: edge, high),
    // which is what irqfd delivers.
    internal::AppendBytes(entries, mp::IoInterrupt{
                                       .type = mp::kIoInterrupt,
                                       .irq_type = mp::kInt,
                                       .irq_flags = 0,
                                       .source_bus = 0,
                                       .source_bus_irq = static_cast<uint8_t>(irq),
                                       .dest_ioapic = ioapic_id,
                                       .dest_pin = static_cast<uint8_t>(irq),
                                   });
  }
  // The 8259 as virtual wire on LINT0, NMI on LINT1, of every local APIC (as
  // in the MP spec's default configurations).
  internal::AppendBytes(entries, mp::LocalInterrupt{
                                     .type = mp::kLocalInterrupt,
                                     .irq_type = mp::kExtInt,
                                     .irq_flags = 0,
                                     .source_bus = 0,
                                     .source_bus_irq = 0,
                                     .dest_lapic = mp::kAllLapics,
                                     .dest_lint = 0,
                                 });
  internal::AppendBytes(entries, mp::LocalInterrupt{
                                     .type = mp::kLocalInterrupt,
                                     .irq_type = mp::kNmi,
                                     .irq_flags = 0,
                                     .source_bus = 0,
                                     .source_bus_irq = 0,
                                     .dest_lapic = mp::kAllLapics,
                                     .dest_lint = 1,
                                 });

  mp::ConfigTable table = {};
  CopyText(table.signature, "PCMP");
  table.length = static_cast<uint16_t>(sizeof(mp::ConfigTable) + entries.size());
  table.spec = 4;
  CopyText(table.oem, "HULL    ");
  CopyText(table.product_id, "HULL-VMM    ");
  table.lapic = static_cast<uint32_t>(kLapicAddress);
  std::vector<uint8_t> config;
  internal::AppendBytes(config, table);
  config.insert(config.end(), entries.begin(), entries.end());
  config[offsetof(mp::ConfigTable, checksum)] = static_cast<uint8_t>(-internal::ByteSum(config));

  mp::FloatingPointer pointer = {};
  CopyText(pointer.signature, "_MP_");
  pointer.physptr = static_cast<uint32_t>(config_address);
  pointer.length = 1;
  pointer.specification = 4;
  std::vector<uint8_t> blob;
  internal::AppendBytes(blob, pointer);
  blob[offsetof(mp::FloatingPointer, checksum)] = static_cast<uint8_t>(-internal::ByteSum(blob));
  blob.insert(blob.end(), config.begin(), config.end());
  HULL_CHECK(blob.size() == MpTableSize(num_cpus));

  return memory.Write(GuestAddress(kMpTableAddress), blob)
      .WithContext(
          fmt::format("writing the MP table ({} bytes at {:#x})", blob.size(), kMpTableAddress));
}

}  // namespace hull::vmm::x86
