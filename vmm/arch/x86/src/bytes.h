#pragma once

// Bounds-checked reads of plain structures out of untrusted byte spans (kernel
// images), and the small helpers the boot-structure writers share.

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

namespace hull::vmm::x86::internal {

static_assert(std::endian::native == std::endian::little,
              "the x86 boot structures are read and written in host byte order");

// True when [offset, offset + length) lies inside a buffer of `size` bytes,
// without overflow however large the operands.
constexpr bool RangeInside(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

// A copy of the T at `offset` of `bytes`, or nullopt when it does not fit.
template <typename T>
requires std::is_trivially_copyable_v<T> std::optional<T> ReadAt(std::span<const uint8_t> bytes,
                                                                 uint64_t offset) {
  if (!RangeInside(offset, sizeof(T), bytes.size())) return std::nullopt;
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// Appends the bytes of `value` to `out`.
template <typename T>
requires std::is_trivially_copyable_v<T>
void AppendBytes(std::vector<uint8_t>& out, const T& value) {
  const auto raw = std::bit_cast<std::array<uint8_t, sizeof(T)>>(value);
  out.insert(out.end(), raw.begin(), raw.end());
}

// The 8-bit sum of `bytes` (MP table checksums make it zero).
inline uint8_t ByteSum(std::span<const uint8_t> bytes) {
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  return sum;
}

// `value` rounded up to `alignment` (a power of two), or nullopt on overflow.
constexpr std::optional<uint64_t> AlignUp(uint64_t value, uint64_t alignment) {
  const uint64_t mask = alignment - 1;
  if (value > UINT64_MAX - mask) return std::nullopt;
  return (value + mask) & ~mask;
}

}  // namespace hull::vmm::x86::internal
