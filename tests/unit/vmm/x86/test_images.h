#pragma once

// Small synthetic kernel images for the loader tests: a valid ELF vmlinux or
// bzImage by default, with every field open to a test that breaks it.

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "hull/vmm/x86/boot_params.h"
#include "hull/vmm/x86/elf_kernel.h"

namespace hull::vmm::x86::testing {

template <typename T>
void PutAt(std::vector<uint8_t>& bytes, uint64_t offset, const T& value) {
  if (bytes.size() < offset + sizeof(T)) bytes.resize(offset + sizeof(T));
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

template <typename T>
T GetAt(const std::vector<uint8_t>& bytes, uint64_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// One ELF note: namesz, descsz, type, name and descriptor, each padded to 4.
inline std::vector<uint8_t> Note(const std::string& name_with_nul, uint32_t type,
                                 const std::vector<uint8_t>& desc) {
  std::vector<uint8_t> out;
  PutAt(out, 0, static_cast<uint32_t>(name_with_nul.size()));
  PutAt(out, 4, static_cast<uint32_t>(desc.size()));
  PutAt(out, 8, type);
  out.insert(out.end(), name_with_nul.begin(), name_with_nul.end());
  out.resize((out.size() + 3) & ~size_t{3});
  out.insert(out.end(), desc.begin(), desc.end());
  out.resize((out.size() + 3) & ~size_t{3});
  return out;
}

inline std::vector<uint8_t> PvhNote(uint32_t entry) {
  std::vector<uint8_t> desc(8, 0);  // pointer-sized, as Linux writes it
  std::memcpy(desc.data(), &entry, sizeof(entry));
  return Note(std::string("Xen\0", 4), kXenElfNotePhys32Entry, desc);
}

struct ElfSegmentSpec {
  uint64_t paddr;
  uint64_t file_size;
  uint64_t mem_size;
  uint8_t fill = 0xAB;
};

// An ELF64 x86-64 executable: header, program headers (PT_LOADs then one
// PT_NOTE when `notes` is non-empty), then the notes, then segment data.
struct ElfImage {
  std::vector<ElfSegmentSpec> segments = {{0x100'0000, 0x2000, 0x3000}};
  std::vector<uint8_t> notes = PvhNote(0x100'0010);

  static constexpr uint64_t kPhoff = sizeof(Elf64_Ehdr);

  uint32_t phnum() const {
    return static_cast<uint32_t>(segments.size() + (notes.empty() ? 0 : 1));
  }
  uint64_t NotesOffset() const { return kPhoff + phnum() * sizeof(Elf64_Phdr); }
  // Program header `i`'s offset in the file.
  static uint64_t PhdrOffset(uint32_t i) { return kPhoff + i * sizeof(Elf64_Phdr); }

  std::vector<uint8_t> Build() const {
    std::vector<uint8_t> file;
    Elf64_Ehdr header = {};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_EXEC;
    header.e_machine = EM_X86_64;
    header.e_version = EV_CURRENT;
    header.e_entry = 0x100'0000;
    header.e_phoff = kPhoff;
    header.e_ehsize = sizeof(Elf64_Ehdr);
    header.e_phentsize = sizeof(Elf64_Phdr);
    header.e_phnum = static_cast<uint16_t>(phnum());
    PutAt(file, 0, header);

    uint64_t data = NotesOffset() + notes.size();
    uint32_t index = 0;
    for (const ElfSegmentSpec& s : segments) {
      Elf64_Phdr ph = {};
      ph.p_type = PT_LOAD;
      ph.p_flags = PF_R | PF_X;
      ph.p_offset = data;
      ph.p_vaddr = 0xFFFF'FFFF'8000'0000 + s.paddr;
      ph.p_paddr = s.paddr;
      ph.p_filesz = s.file_size;
      ph.p_memsz = s.mem_size;
      ph.p_align = 0x1000;
      PutAt(file, PhdrOffset(index++), ph);
      data += s.file_size;
    }
    if (!notes.empty()) {
      Elf64_Phdr ph = {};
      ph.p_type = PT_NOTE;
      ph.p_offset = NotesOffset();
      ph.p_filesz = notes.size();
      ph.p_memsz = notes.size();
      ph.p_align = 4;
      PutAt(file, PhdrOffset(index++), ph);
      file.resize(NotesOffset());
      file.insert(file.end(), notes.begin(), notes.end());
    }
    file.resize(NotesOffset() + notes.size());
    for (const ElfSegmentSpec& s : segments) file.insert(file.end(), s.file_size, s.fill);
    return file;
  }
};

// A bzImage: boot sector and setup of (setup_sects + 1) sectors, then a
// protected-mode kernel of `kernel_size` bytes of 0xCD.
struct BzImageSpec {
  uint8_t setup_sects = 4;
  uint16_t version = 0x020F;
  uint8_t loadflags = boot::kLoadedHigh;
  uint16_t xloadflags = boot::kXlfKernel64;
  uint32_t cmdline_size = 2047;
  uint32_t initrd_addr_max = 0x7FFF'FFFF;
  uint32_t kernel_alignment = 0x20'0000;
  uint8_t relocatable = 0;
  uint64_t pref_address = 0x100'0000;
  uint32_t init_size = 0x80'0000;
  uint8_t jump_byte = 0x6A;  // header ends at 0x202 + 0x6A = 0x26C
  uint64_t kernel_size = 0x1000;

  std::vector<uint8_t> Build() const {
    const uint64_t sects = setup_sects == 0 ? 4 : setup_sects;
    std::vector<uint8_t> file((sects + 1) * 512 + kernel_size, 0);
    for (uint64_t i = (sects + 1) * 512; i < file.size(); ++i) file[i] = 0xCD;
    boot::SetupHeader h = {};
    h.setup_sects = setup_sects;
    h.boot_flag = boot::kBootFlag;
    h.jump = static_cast<uint16_t>(0xEB | (jump_byte << 8));
    h.header = boot::kHeaderMagic;
    h.version = version;
    h.loadflags = loadflags;
    h.code32_start = 0x10'0000;
    h.initrd_addr_max = initrd_addr_max;
    h.kernel_alignment = kernel_alignment;
    h.relocatable_kernel = relocatable;
    h.xloadflags = xloadflags;
    h.cmdline_size = cmdline_size;
    h.pref_address = pref_address;
    h.init_size = init_size;
    PutAt(file, boot::kSetupHeaderOffset, h);
    return file;
  }
};

}  // namespace hull::vmm::x86::testing
