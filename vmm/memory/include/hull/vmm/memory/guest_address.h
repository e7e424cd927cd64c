#pragma once

#include <fmt/format.h>

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace hull::vmm {

// A guest-physical address. Explicit in and out (raw()), never mixed with host
// pointers or lengths by accident; arithmetic is checked.
class GuestAddress {
 public:
  constexpr GuestAddress() noexcept = default;
  constexpr explicit GuestAddress(uint64_t value) noexcept : value_(value) {}

  constexpr uint64_t raw() const noexcept { return value_; }

  // this + offset, or nullopt when it would pass the top of the 64-bit space.
  [[nodiscard]] constexpr std::optional<GuestAddress> CheckedAdd(uint64_t offset) const noexcept {
    if (offset > std::numeric_limits<uint64_t>::max() - value_) return std::nullopt;
    return GuestAddress(value_ + offset);
  }

  // this - base, or nullopt when this lies below base.
  [[nodiscard]] constexpr std::optional<uint64_t> CheckedOffsetFrom(
      GuestAddress base) const noexcept {
    if (value_ < base.value_) return std::nullopt;
    return value_ - base.value_;
  }

  // `alignment` must be a power of two.
  constexpr bool IsAligned(uint64_t alignment) const noexcept {
    return (value_ & (alignment - 1)) == 0;
  }

  std::string ToString() const { return fmt::format("{:#x}", value_); }

  friend constexpr auto operator<=>(GuestAddress, GuestAddress) noexcept = default;

 private:
  uint64_t value_ = 0;
};

}  // namespace hull::vmm

// fmt::format("{}", address) -> "0x1000".
template <>
struct fmt::formatter<hull::vmm::GuestAddress> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <typename FormatContext>
  auto format(hull::vmm::GuestAddress address, FormatContext& ctx) const {
    return fmt::format_to(ctx.out(), "{:#x}", address.raw());
  }
};
