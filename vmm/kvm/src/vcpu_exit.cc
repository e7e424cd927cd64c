#include "hull/vmm/kvm/vcpu_exit.h"

#include <fmt/format.h>

#include <array>

namespace hull::kvm {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// Needed by clang 14, which lacks C++20's aggregate deduction.
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

constexpr std::array<std::string_view, std::variant_size_v<VcpuExit>> kNames = {
    "IoOut",       "IoIn",      "MmioWrite",     "MmioRead", "Hlt",    "Shutdown",
    "SystemEvent", "FailEntry", "InternalError", "Intr",     "Unknown"};

std::string Hex(std::span<const uint8_t> bytes) {
  std::string text;
  for (uint8_t byte : bytes) text += fmt::format("{:02x}", byte);
  return text;
}

}  // namespace

std::string_view ExitName(const VcpuExit& exit) { return kNames[exit.index()]; }

std::string DescribeExit(const VcpuExit& exit) {
  const std::string_view name = ExitName(exit);
  return std::visit(
      Overloaded{
          [&](const IoOut& e) {
            return fmt::format("{} port={:#x} size={} count={} bytes={}", name, e.port, e.size,
                               e.count, Hex(e.bytes));
          },
          [&](const IoIn& e) {
            return fmt::format("{} port={:#x} size={} count={}", name, e.port, e.size, e.count);
          },
          [&](const MmioWrite& e) {
            return fmt::format("{} addr={} bytes={}", name, e.addr, Hex(e.bytes));
          },
          [&](const MmioRead& e) { return fmt::format("{} addr={} len={}", name, e.addr, e.len); },
          [&](const SystemEvent& e) { return fmt::format("{} type={}", name, e.type); },
          [&](const FailEntry& e) { return fmt::format("{} reason={:#x}", name, e.reason); },
          [&](const InternalError& e) { return fmt::format("{} suberror={}", name, e.suberror); },
          [&](const Unknown& e) { return fmt::format("{} reason={}", name, e.reason); },
          [&](const auto&) { return std::string(name); },
      },
      exit);
}

}  // namespace hull::kvm
