#pragma once

// FNV-1a, 64-bit: a small, stable hash for names (not for security).

#include <cstdint>
#include <string_view>

namespace hull {

inline constexpr uint64_t kFnv1a64Offset = 0xcbf29ce484222325ull;

// Hashes `bytes` on from `hash` (so a hash can be continued).
constexpr uint64_t Fnv1a64(std::string_view bytes, uint64_t hash = kFnv1a64Offset) {
  for (char c : bytes) hash = (hash ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return hash;
}

}  // namespace hull
