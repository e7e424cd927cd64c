#pragma once

// An uncompressed Linux kernel (vmlinux, ELF64) booted through its PVH entry:
// the 32-bit entry point Linux advertises in the ELF note "Xen" of type
// XEN_ELFNOTE_PHYS32_ENTRY, reached with paging off and %ebx pointing at a
// struct hvm_start_info (pvh.h).
//
// The image is untrusted input (a user names the file): the parser checks
// every offset, size and sum before use, and the loader re-checks placement
// against guest RAM.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "hull/common/result.h"
#include "hull/vmm/memory/guest_address.h"
#include "hull/vmm/memory/guest_memory.h"

namespace hull::vmm::x86 {

// XEN_ELFNOTE_PHYS32_ENTRY (xen/include/public/elfnote.h).
inline constexpr uint32_t kXenElfNotePhys32Entry = 18;

// Program headers the parser accepts (Linux has about five).
inline constexpr uint32_t kMaxElfProgramHeaders = 128;

// One PT_LOAD: file bytes [file_offset, file_offset + file_size) go to
// guest-physical paddr; the rest, up to mem_size, is zeroed.
struct ElfSegment {
  uint64_t file_offset = 0;
  GuestAddress paddr;
  uint64_t file_size = 0;
  uint64_t mem_size = 0;
};

struct ElfKernel {
  // PT_LOAD segments with a non-zero mem_size, sorted by paddr, disjoint.
  std::vector<ElfSegment> segments;
  // The lowest paddr and the first address past the highest segment.
  GuestAddress start;
  GuestAddress end;
  // The PVH entry, when the image has the note; it lies inside a segment.
  std::optional<GuestAddress> pvh_entry;
};

// Validates an ELF64 x86-64 executable and collects its loadable segments and
// PVH entry: magic, class, byte order, version, machine, type; program header
// table inside the file; each PT_LOAD's file bytes inside the file, file_size
// <= mem_size, paddr + mem_size without overflow, no two segments overlapping;
// notes (PT_NOTE, else SHT_NOTE sections) walked with full bounds and
// alignment checks. Placement in guest RAM is LoadElfKernel's check.
Result<ElfKernel> ParseElfKernel(std::span<const uint8_t> file);

// Copies each segment of `kernel` (parsed from `file`) to guest memory and
// zero-fills mem_size - file_size after it. Each segment must lie at or
// above 1 MiB, inside one RAM region (so not in the MMIO hole); the error
// says how much memory the kernel needs when it does not.
Result<void> LoadElfKernel(const GuestMemory& memory, std::span<const uint8_t> file,
                           const ElfKernel& kernel);

// The PVH entry from a block of ELF notes (a PT_NOTE segment's or SHT_NOTE
// section's bytes) whose entries are padded to `alignment` (4 or 8):
// nullopt when no "Xen" note of type 18 is there; an error when the block is
// malformed or that note's descriptor is shorter than 4 bytes. Exposed for
// tests and the fuzzer.
Result<std::optional<uint32_t>> FindPvhEntryInNotes(std::span<const uint8_t> notes,
                                                    uint64_t alignment);

}  // namespace hull::vmm::x86
