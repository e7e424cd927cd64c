#include "hull/vmm/x86/elf_kernel.h"

#include <elf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bytes.h"
#include "hull/vmm/x86/layout.h"

namespace hull::vmm::x86 {
namespace {

Error NotLoadable(std::string message) { return Error(ENOEXEC, std::move(message)); }

Result<void> CheckIdentity(const Elf64_Ehdr& header) {
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    return NotLoadable("not an ELF file (no \\x7fELF magic)");
  }
  if (header.e_ident[EI_CLASS] != ELFCLASS64) {
    return NotLoadable(fmt::format("ELF class {} is not ELFCLASS64: hull boots 64-bit kernels",
                                   header.e_ident[EI_CLASS]));
  }
  if (header.e_ident[EI_DATA] != ELFDATA2LSB) {
    return NotLoadable(
        fmt::format("ELF byte order {} is not little-endian", header.e_ident[EI_DATA]));
  }
  if (header.e_ident[EI_VERSION] != EV_CURRENT || header.e_version != EV_CURRENT) {
    return NotLoadable(
        fmt::format("ELF version {}/{} is not 1", header.e_ident[EI_VERSION], header.e_version));
  }
  if (header.e_machine != EM_X86_64) {
    return NotLoadable(
        fmt::format("ELF machine {} is not x86-64 ({})", header.e_machine, EM_X86_64));
  }
  if (header.e_type != ET_EXEC) {
    return NotLoadable(
        fmt::format("ELF type {} is not an executable (ET_EXEC): not a vmlinux", header.e_type));
  }
  return {};
}

// The notes of the SHT_NOTE sections, for images whose PT_NOTE lacks the
// PVH entry (or that have none).
Result<std::optional<uint32_t>> FindPvhEntryInSections(std::span<const uint8_t> file,
                                                       const Elf64_Ehdr& header) {
  if (header.e_shnum == 0 || header.e_shoff == 0) return std::optional<uint32_t>();
  if (header.e_shentsize != sizeof(Elf64_Shdr)) {
    return NotLoadable(fmt::format("ELF section header size {} is not {}", header.e_shentsize,
                                   sizeof(Elf64_Shdr)));
  }
  const uint64_t table_size = uint64_t{header.e_shnum} * sizeof(Elf64_Shdr);
  if (!internal::RangeInside(header.e_shoff, table_size, file.size())) {
    return NotLoadable(
        fmt::format("ELF section header table [{:#x}, +{:#x}) runs past the "
                    "{}-byte file",
                    header.e_shoff, table_size, file.size()));
  }
  for (uint32_t i = 0; i < header.e_shnum; ++i) {
    const Elf64_Shdr section =
        *internal::ReadAt<Elf64_Shdr>(file, header.e_shoff + i * sizeof(Elf64_Shdr));
    if (section.sh_type != SHT_NOTE) continue;
    if (!internal::RangeInside(section.sh_offset, section.sh_size, file.size())) {
      return NotLoadable(
          fmt::format("ELF note section {} [{:#x}, +{:#x}) runs past the {}-byte "
                      "file",
                      i, section.sh_offset, section.sh_size, file.size()));
    }
    HULL_ASSIGN_OR_RETURN(std::optional<uint32_t> entry,
                          FindPvhEntryInNotes(file.subspan(section.sh_offset, section.sh_size),
                                              section.sh_addralign == 8 ? 8 : 4)
                              .WithContext(fmt::format("ELF note section {}", i)));
    if (entry) return entry;
  }
  return std::optional<uint32_t>();
}

}  // namespace

Result<ElfKernel> ParseElfKernel(std::span<const uint8_t> file) {
  const std::optional<Elf64_Ehdr> header = internal::ReadAt<Elf64_Ehdr>(file, 0);
  if (!header) {
    return NotLoadable(fmt::format("truncated ELF: {} bytes, the ELF64 header needs {}",
                                   file.size(), sizeof(Elf64_Ehdr)));
  }
  HULL_TRY(CheckIdentity(*header));
  if (header->e_phentsize != sizeof(Elf64_Phdr)) {
    return NotLoadable(fmt::format("ELF program header size {} is not {}", header->e_phentsize,
                                   sizeof(Elf64_Phdr)));
  }
  if (header->e_phnum == 0 || header->e_phnum > kMaxElfProgramHeaders) {
    return NotLoadable(fmt::format("ELF has {} program headers (hull accepts 1 to {})",
                                   header->e_phnum, kMaxElfProgramHeaders));
  }
  const uint64_t table_size = uint64_t{header->e_phnum} * sizeof(Elf64_Phdr);
  if (!internal::RangeInside(header->e_phoff, table_size, file.size())) {
    return NotLoadable(
        fmt::format("ELF program header table [{:#x}, +{:#x}) runs past the "
                    "{}-byte file",
                    header->e_phoff, table_size, file.size()));
  }

  ElfKernel kernel;
  for (uint32_t i = 0; i < header->e_phnum; ++i) {
    const Elf64_Phdr ph =
        *internal::ReadAt<Elf64_Phdr>(file, header->e_phoff + i * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE) continue;
    if (!internal::RangeInside(ph.p_offset, ph.p_filesz, file.size())) {
      return NotLoadable(
          fmt::format("ELF program header {}: file bytes [{:#x}, +{:#x}) run past "
                      "the {}-byte file",
                      i, ph.p_offset, ph.p_filesz, file.size()));
    }
    if (ph.p_type == PT_NOTE) {
      if (kernel.pvh_entry) continue;
      HULL_ASSIGN_OR_RETURN(
          std::optional<uint32_t> entry,
          FindPvhEntryInNotes(file.subspan(ph.p_offset, ph.p_filesz), ph.p_align == 8 ? 8 : 4)
              .WithContext(fmt::format("ELF program header {} (PT_NOTE)", i)));
      if (entry) kernel.pvh_entry = GuestAddress(*entry);
      continue;
    }
    if (ph.p_filesz > ph.p_memsz) {
      return NotLoadable(
          fmt::format("ELF segment {}: {:#x} file bytes exceed its {:#x} bytes of "
                      "memory",
                      i, ph.p_filesz, ph.p_memsz));
    }
    if (!GuestAddress(ph.p_paddr).CheckedAdd(ph.p_memsz)) {
      return NotLoadable(
          fmt::format("ELF segment {}: {:#x} + {:#x} passes the top of the address "
                      "space",
                      i, ph.p_paddr, ph.p_memsz));
    }
    if (ph.p_memsz == 0) continue;
    kernel.segments.push_back({.file_offset = ph.p_offset,
                               .paddr = GuestAddress(ph.p_paddr),
                               .file_size = ph.p_filesz,
                               .mem_size = ph.p_memsz});
  }
  if (kernel.segments.empty()) return NotLoadable("ELF has no loadable (PT_LOAD) segment");

  std::sort(kernel.segments.begin(), kernel.segments.end(),
            [](const ElfSegment& a, const ElfSegment& b) { return a.paddr < b.paddr; });
  for (size_t i = 1; i < kernel.segments.size(); ++i) {
    const ElfSegment& prev = kernel.segments[i - 1];
    const uint64_t prev_end = prev.paddr.raw() + prev.mem_size;  // checked above
    if (kernel.segments[i].paddr.raw() < prev_end) {
      return NotLoadable(fmt::format("ELF segments [{}, {:#x}) and [{}, ...) overlap", prev.paddr,
                                     prev_end, kernel.segments[i].paddr));
    }
  }
  kernel.start = kernel.segments.front().paddr;
  const ElfSegment& last = kernel.segments.back();
  kernel.end = GuestAddress(last.paddr.raw() + last.mem_size);

  if (!kernel.pvh_entry) {
    HULL_ASSIGN_OR_RETURN(std::optional<uint32_t> entry, FindPvhEntryInSections(file, *header));
    if (entry) kernel.pvh_entry = GuestAddress(*entry);
  }
  if (kernel.pvh_entry) {
    const GuestAddress entry = *kernel.pvh_entry;
    const bool inside =
        std::any_of(kernel.segments.begin(), kernel.segments.end(), [entry](const ElfSegment& s) {
          return entry >= s.paddr && entry.raw() - s.paddr.raw() < s.mem_size;
        });
    if (!inside) {
      return NotLoadable(
          fmt::format("the PVH entry {} lies outside the kernel's loadable segments", entry));
    }
  }
  return kernel;
}

Result<void> LoadElfKernel(const GuestMemory& memory, std::span<const uint8_t> file,
                           const ElfKernel& kernel) {
  for (const ElfSegment& segment : kernel.segments) {
    const std::optional<GuestAddress> end = segment.paddr.CheckedAdd(segment.mem_size);
    if (!end || segment.file_size > segment.mem_size ||
        !internal::RangeInside(segment.file_offset, segment.file_size, file.size())) {
      return Error(EINVAL, fmt::format("kernel segment at {} does not match the kernel file",
                                       segment.paddr));
    }
    if (segment.paddr.raw() < kHighMemoryStart) {
      return Error(ENOEXEC, fmt::format("kernel segment [{}, {}) starts below 1 MiB, where hull "
                                        "keeps the boot structures",
                                        segment.paddr, *end));
    }
    const GuestRegion* region = memory.FindRegion(segment.paddr);
    if (region == nullptr || *end > region->end()) {
      const GuestRegion* low = memory.FindRegion(GuestAddress(0));
      return Error(ENOMEM,
                   fmt::format("kernel segment [{}, {}) lies outside guest RAM (RAM below "
                               "the MMIO hole ends at {}): the kernel needs at least {} "
                               "MiB of guest memory",
                               segment.paddr, *end, low != nullptr ? low->end() : GuestAddress(0),
                               (kernel.end.raw() + kMiB - 1) / kMiB));
    }
    HULL_TRY(memory.Write(segment.paddr, file.subspan(segment.file_offset, segment.file_size))
                 .WithContext(fmt::format("loading kernel segment at {}", segment.paddr)));
    HULL_ASSIGN_OR_RETURN(std::span<uint8_t> bss,
                          memory.Slice(GuestAddress(segment.paddr.raw() + segment.file_size),
                                       segment.mem_size - segment.file_size));
    std::memset(bss.data(), 0, bss.size());
  }
  return {};
}

}  // namespace hull::vmm::x86
