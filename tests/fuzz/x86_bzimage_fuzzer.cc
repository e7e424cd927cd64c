// Fuzzes the bzImage loader (hull::vmm::x86::ParseBzImage, PlaceInitrd and
// LoadBzImage): the input is a kernel file. What parses is placed with an
// initramfs sized from the input and loaded into a small guest memory, so
// the zero page writer and the placement checks are reached.
//
// Checked beyond the sanitizers: a parsed image's kernel lies inside the file
// after a setup of at least 2 sectors that holds the header, its header copy stays inside the zero
// page's header area, its kernel_end covers the loaded kernel, and a placed
// initramfs lies between the kernel's end and the end of RAM.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "hull/common/check.h"
#include "hull/vmm/x86/bzimage.h"
#include "hull/vmm/x86/initrd.h"
#include "hull/vmm/x86/layout.h"

namespace {

using hull::vmm::GuestAddress;
using hull::vmm::GuestMemory;
using namespace hull::vmm::x86;  // NOLINT(google-build-using-namespace)

constexpr uint64_t kRam = 32 * kMiB;

const GuestMemory& Memory() {
  static const GuestMemory* memory = [] {
    auto created = GuestMemory::Create({{GuestAddress(0), kRam}});
    HULL_CHECK(created.ok());
    return new GuestMemory(std::move(created).value());
  }();
  return *memory;
}

const std::vector<E820Entry>& E820() {
  static const std::vector<E820Entry> map = {
      {.addr = 0, .size = kMpTableAddress, .type = kE820Ram},
      {.addr = kHighMemoryStart, .size = kRam - kHighMemoryStart, .type = kE820Ram},
  };
  return map;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> file(data, size);
  hull::Result<BzImage> image = ParseBzImage(file);
  if (!image.ok()) return 0;
  HULL_CHECK(image->kernel_offset >= 2 * 512 && image->kernel_offset >= image->setup_header_end);
  HULL_CHECK(image->kernel_size > 0 && image->kernel_offset + image->kernel_size == size);
  HULL_CHECK(image->setup_header_end > 0x1F1 && image->setup_header_end <= 0x290);
  HULL_CHECK(image->kernel_end.raw() >= kBzImageLoadAddress + image->kernel_size);

  std::optional<InitrdPlacement> initrd;
  const uint64_t initrd_size = (size * 7) % (4 * kMiB) + 1;
  hull::Result<GuestAddress> placed =
      PlaceInitrd(initrd_size, image->kernel_end, kRam, image->initrd_addr_max);
  if (placed.ok()) {
    HULL_CHECK(*placed >= image->kernel_end && placed->raw() + initrd_size <= kRam);
    HULL_CHECK(placed->raw() + initrd_size - 1 <= image->initrd_addr_max);
    initrd = InitrdPlacement{.addr = *placed, .size = initrd_size};
  }
  (void)LoadBzImage(Memory(), file, *image, "console=ttyS0 reboot=k", initrd, E820());
  return 0;
}
