// Fuzzes the ELF vmlinux loader (hull::vmm::x86::ParseElfKernel and
// LoadElfKernel): the input is a kernel file. What parses is loaded into a
// small guest memory with a hole, as a real guest's has, so that placement
// checks and the copy are reached; the input's first bytes also go through
// the note walker directly, at both alignments.
//
// Checked beyond the sanitizers: a parsed kernel's segments are sorted,
// disjoint and inside the file, and its PVH entry lies in a segment.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "hull/common/check.h"
#include "hull/vmm/x86/elf_kernel.h"
#include "hull/vmm/x86/layout.h"

namespace {

using hull::vmm::GuestAddress;
using hull::vmm::GuestMemory;
using namespace hull::vmm::x86;  // NOLINT(google-build-using-namespace)

// RAM [0, 2 MiB) and [16 MiB, 20 MiB): segments at 1 MiB and 16 MiB load,
// others fall in the hole or past the end.
const GuestMemory& Memory() {
  static const GuestMemory* memory = [] {
    auto created =
        GuestMemory::Create({{GuestAddress(0), 2 * kMiB}, {GuestAddress(16 * kMiB), 4 * kMiB}});
    HULL_CHECK(created.ok());
    return new GuestMemory(std::move(created).value());
  }();
  return *memory;
}

void CheckInvariants(std::span<const uint8_t> file, const ElfKernel& kernel) {
  HULL_CHECK(!kernel.segments.empty());
  uint64_t previous_end = 0;
  for (const ElfSegment& s : kernel.segments) {
    HULL_CHECK(s.paddr.raw() >= previous_end);
    HULL_CHECK(s.file_size <= s.mem_size && s.mem_size > 0);
    HULL_CHECK(s.file_offset <= file.size() && s.file_size <= file.size() - s.file_offset);
    const auto end = s.paddr.CheckedAdd(s.mem_size);
    HULL_CHECK(end.has_value());
    previous_end = end->raw();
  }
  HULL_CHECK(kernel.end.raw() == previous_end);
  if (kernel.pvh_entry) {
    HULL_CHECK(*kernel.pvh_entry >= kernel.start && *kernel.pvh_entry < kernel.end);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> file(data, size);
  (void)FindPvhEntryInNotes(file.first(std::min<size_t>(size, 256)), 4);
  (void)FindPvhEntryInNotes(file.first(std::min<size_t>(size, 256)), 8);

  hull::Result<ElfKernel> kernel = ParseElfKernel(file);
  if (!kernel.ok()) return 0;
  CheckInvariants(file, *kernel);
  // Keep the zero-fill of huge bss segments from dominating the run.
  if (kernel->end.raw() - kernel->start.raw() > 64 * kMiB) return 0;
  (void)LoadElfKernel(Memory(), file, *kernel);
  return 0;
}
