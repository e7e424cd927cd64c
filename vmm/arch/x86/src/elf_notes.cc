// Walking a block of ELF notes for the PVH entry.

#include <elf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bytes.h"
#include "hull/vmm/x86/elf_kernel.h"

namespace hull::vmm::x86 {
namespace {

bool IsXenName(std::span<const uint8_t> name) {
  // "Xen" with its NUL, as Linux's ELFNOTE() writes it; tolerate no NUL.
  static constexpr uint8_t kXen[] = {'X', 'e', 'n', '\0'};
  return (name.size() == 4 && std::memcmp(name.data(), kXen, 4) == 0) ||
         (name.size() == 3 && std::memcmp(name.data(), kXen, 3) == 0);
}

}  // namespace

Result<std::optional<uint32_t>> FindPvhEntryInNotes(std::span<const uint8_t> notes,
                                                    uint64_t alignment) {
  if (alignment != 4 && alignment != 8) {
    return Error(EINVAL, fmt::format("ELF notes aligned to {} bytes (must be 4 or 8)", alignment));
  }
  const uint64_t size = notes.size();
  uint64_t pos = 0;
  while (pos < size) {
    const std::optional<Elf64_Nhdr> header = internal::ReadAt<Elf64_Nhdr>(notes, pos);
    if (!header) {
      return Error(ENOEXEC, fmt::format("ELF note at offset {:#x} of its block: the {}-byte "
                                        "header runs past the block's {} bytes",
                                        pos, sizeof(Elf64_Nhdr), size));
    }
    // All in 64 bits: the 32-bit sizes cannot overflow them.
    const uint64_t name_offset = pos + sizeof(Elf64_Nhdr);
    if (!internal::RangeInside(name_offset, header->n_namesz, size)) {
      return Error(ENOEXEC, fmt::format("ELF note at offset {:#x}: its {}-byte name runs past the "
                                        "block's {} bytes",
                                        pos, header->n_namesz, size));
    }
    const uint64_t desc_offset = *internal::AlignUp(name_offset + header->n_namesz, alignment);
    if (!internal::RangeInside(desc_offset, header->n_descsz, size)) {
      return Error(ENOEXEC, fmt::format("ELF note at offset {:#x}: its {}-byte descriptor runs "
                                        "past the block's {} bytes",
                                        pos, header->n_descsz, size));
    }
    const auto name = notes.subspan(name_offset, header->n_namesz);
    if (header->n_type == kXenElfNotePhys32Entry && IsXenName(name)) {
      const auto desc = notes.subspan(desc_offset, header->n_descsz);
      if (desc.size() < sizeof(uint32_t)) {
        return Error(ENOEXEC, fmt::format("the PVH entry note (Xen, type {}) has a {}-byte "
                                          "descriptor; it needs at least 4",
                                          kXenElfNotePhys32Entry, desc.size()));
      }
      // Linux stores a pointer-sized value; the entry is 32-bit by definition.
      uint64_t entry = 0;
      std::memcpy(&entry, desc.data(), std::min<size_t>(desc.size(), sizeof(entry)));
      if (desc.size() < sizeof(entry)) entry &= 0xFFFF'FFFF;
      if (entry > 0xFFFF'FFFF) {
        return Error(
            ENOEXEC,
            fmt::format("the PVH entry {:#x} lies above 4 GiB (it is a 32-bit entry)", entry));
      }
      return std::optional<uint32_t>(static_cast<uint32_t>(entry));
    }
    // The padding after the last descriptor may be cut off by the block's end.
    pos = *internal::AlignUp(desc_offset + header->n_descsz, alignment);
  }
  return std::optional<uint32_t>();
}

}  // namespace hull::vmm::x86
