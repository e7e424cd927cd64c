#include "hull/vmm/x86/elf_kernel.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "hull/vmm/x86/layout.h"
#include "test_images.h"

namespace hull::vmm::x86 {
namespace {

using testing::ElfImage;
using testing::GetAt;
using testing::Note;
using testing::PutAt;
using testing::PvhNote;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Edits field `F` of program header `index` in a built image.
template <typename F>
void EditPhdr(std::vector<uint8_t>& file, uint32_t index, F edit) {
  auto ph = GetAt<Elf64_Phdr>(file, ElfImage::PhdrOffset(index));
  edit(ph);
  PutAt(file, ElfImage::PhdrOffset(index), ph);
}

template <typename F>
void EditHeader(std::vector<uint8_t>& file, F edit) {
  auto header = GetAt<Elf64_Ehdr>(file, 0);
  edit(header);
  PutAt(file, 0, header);
}

TEST(ElfKernelParse, AcceptsAValidImageAndFindsThePvhEntry) {
  ElfImage image;
  image.segments = {{0x200'0000, 0x100, 0x1000}, {0x100'0000, 0x2000, 0x3000}};
  Result<ElfKernel> kernel = ParseElfKernel(image.Build());
  ASSERT_TRUE(kernel.ok()) << kernel.error().ToString();
  ASSERT_EQ(kernel->segments.size(), 2u);
  EXPECT_EQ(kernel->segments[0].paddr, GuestAddress(0x100'0000)) << "sorted by address";
  EXPECT_EQ(kernel->segments[0].file_size, 0x2000u);
  EXPECT_EQ(kernel->segments[0].mem_size, 0x3000u);
  EXPECT_EQ(kernel->start, GuestAddress(0x100'0000));
  EXPECT_EQ(kernel->end, GuestAddress(0x200'1000));
  ASSERT_TRUE(kernel->pvh_entry.has_value());
  EXPECT_EQ(*kernel->pvh_entry, GuestAddress(0x100'0010));
}

TEST(ElfKernelParse, AnImageWithoutThePvhNoteHasNoEntry) {
  ElfImage image;
  image.notes = Note(std::string("GNU\0", 4), 3, std::vector<uint8_t>(20, 7));
  Result<ElfKernel> kernel = ParseElfKernel(image.Build());
  ASSERT_TRUE(kernel.ok()) << kernel.error().ToString();
  EXPECT_FALSE(kernel->pvh_entry.has_value());
}

TEST(ElfKernelParse, FindsThePvhNoteAfterOtherNotes) {
  ElfImage image;
  image.notes = Note(std::string("GNU\0", 4), 3, std::vector<uint8_t>(20, 7));
  const auto linux_note = Note(std::string("Linux\0", 6), 18, {1, 2, 3, 4});  // same type, not Xen
  image.notes.insert(image.notes.end(), linux_note.begin(), linux_note.end());
  const auto pvh = PvhNote(0x100'0200);
  image.notes.insert(image.notes.end(), pvh.begin(), pvh.end());
  Result<ElfKernel> kernel = ParseElfKernel(image.Build());
  ASSERT_TRUE(kernel.ok()) << kernel.error().ToString();
  ASSERT_TRUE(kernel->pvh_entry.has_value());
  EXPECT_EQ(*kernel->pvh_entry, GuestAddress(0x100'0200));
}

TEST(ElfKernelParse, SkipsEmptySegments) {
  ElfImage image;
  image.segments.push_back({0x300'0000, 0, 0});
  Result<ElfKernel> kernel = ParseElfKernel(image.Build());
  ASSERT_TRUE(kernel.ok()) << kernel.error().ToString();
  EXPECT_EQ(kernel->segments.size(), 1u);
}

TEST(ElfKernelParse, FallsBackToNoteSections) {
  ElfImage image;
  image.notes.clear();
  std::vector<uint8_t> file = image.Build();
  // Append the notes and a section table: [0] null, [1] SHT_NOTE over them.
  const uint64_t notes_offset = file.size();
  const auto notes = PvhNote(0x100'0040);
  file.insert(file.end(), notes.begin(), notes.end());
  const uint64_t shoff = file.size();
  Elf64_Shdr null_section = {};
  Elf64_Shdr note_section = {};
  note_section.sh_type = SHT_NOTE;
  note_section.sh_offset = notes_offset;
  note_section.sh_size = notes.size();
  note_section.sh_addralign = 4;
  PutAt(file, shoff, null_section);
  PutAt(file, shoff + sizeof(Elf64_Shdr), note_section);
  EditHeader(file, [&](Elf64_Ehdr& h) {
    h.e_shoff = shoff;
    h.e_shnum = 2;
    h.e_shentsize = sizeof(Elf64_Shdr);
  });
  Result<ElfKernel> kernel = ParseElfKernel(file);
  ASSERT_TRUE(kernel.ok()) << kernel.error().ToString();
  ASSERT_TRUE(kernel->pvh_entry.has_value());
  EXPECT_EQ(*kernel->pvh_entry, GuestAddress(0x100'0040));
}

struct ParseErrorCase {
  const char* name;
  std::function<std::vector<uint8_t>()> make;
  const char* expected;  // part of the message
};

void PrintTo(const ParseErrorCase& c, std::ostream* os) { *os << c.name; }

std::vector<uint8_t> Valid() { return ElfImage().Build(); }

std::vector<uint8_t> WithHeader(std::function<void(Elf64_Ehdr&)> edit) {
  auto file = Valid();
  EditHeader(file, edit);
  return file;
}

std::vector<uint8_t> WithPhdr(uint32_t index, std::function<void(Elf64_Phdr&)> edit) {
  auto file = Valid();
  EditPhdr(file, index, edit);
  return file;
}

std::vector<uint8_t> WithNotes(std::vector<uint8_t> notes) {
  ElfImage image;
  image.notes = std::move(notes);
  return image.Build();
}

class ElfKernelParseError : public ::testing::TestWithParam<ParseErrorCase> {};

TEST_P(ElfKernelParseError, RejectsTheImageSayingWhy) {
  const ParseErrorCase& c = GetParam();
  Result<ElfKernel> kernel = ParseElfKernel(c.make());
  ASSERT_FALSE(kernel.ok());
  EXPECT_EQ(kernel.error().code(), ENOEXEC);
  EXPECT_TRUE(Contains(kernel.error().message(), c.expected))
      << "message: " << kernel.error().message() << "\nexpected: " << c.expected;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ElfKernelParseError,
    ::testing::Values(
        ParseErrorCase{"Empty", [] { return std::vector<uint8_t>(); }, "truncated ELF: 0 bytes"},
        ParseErrorCase{"TruncatedHeader",
                       [] {
                         auto f = Valid();
                         f.resize(63);
                         return f;
                       },
                       "truncated ELF: 63 bytes"},
        ParseErrorCase{"BadMagic",
                       [] { return WithHeader([](Elf64_Ehdr& h) { h.e_ident[1] = 'X'; }); },
                       "not an ELF file"},
        ParseErrorCase{
            "Class32",
            [] { return WithHeader([](Elf64_Ehdr& h) { h.e_ident[EI_CLASS] = ELFCLASS32; }); },
            "not ELFCLASS64"},
        ParseErrorCase{
            "BigEndian",
            [] { return WithHeader([](Elf64_Ehdr& h) { h.e_ident[EI_DATA] = ELFDATA2MSB; }); },
            "not little-endian"},
        ParseErrorCase{"BadVersion",
                       [] { return WithHeader([](Elf64_Ehdr& h) { h.e_version = 2; }); },
                       "ELF version"},
        ParseErrorCase{"NotX86",
                       [] { return WithHeader([](Elf64_Ehdr& h) { h.e_machine = EM_AARCH64; }); },
                       "not x86-64"},
        ParseErrorCase{"SharedObject",
                       [] { return WithHeader([](Elf64_Ehdr& h) { h.e_type = ET_DYN; }); },
                       "not an executable"},
        ParseErrorCase{"WrongPhentsize",
                       [] { return WithHeader([](Elf64_Ehdr& h) { h.e_phentsize = 32; }); },
                       "program header size 32"},
        ParseErrorCase{"NoProgramHeaders",
                       [] { return WithHeader([](Elf64_Ehdr& h) { h.e_phnum = 0; }); },
                       "0 program headers"},
        ParseErrorCase{"TooManyProgramHeaders",
                       [] { return WithHeader([](Elf64_Ehdr& h) { h.e_phnum = 0xFFFF; }); },
                       "65535 program headers"},
        ParseErrorCase{"ProgramHeadersPastTheEnd",
                       [] { return WithHeader([](Elf64_Ehdr& h) { h.e_phoff = 0x10000; }); },
                       "program header table"},
        ParseErrorCase{"ProgramHeaderOffsetOverflows",
                       [] { return WithHeader([](Elf64_Ehdr& h) { h.e_phoff = UINT64_MAX - 8; }); },
                       "program header table"},
        ParseErrorCase{"SegmentPastTheEnd",
                       [] { return WithPhdr(0, [](Elf64_Phdr& p) { p.p_filesz = 0x100000; }); },
                       "run past the"},
        ParseErrorCase{
            "SegmentOffsetOverflows",
            [] { return WithPhdr(0, [](Elf64_Phdr& p) { p.p_offset = UINT64_MAX - 0x10; }); },
            "run past the"},
        ParseErrorCase{"FileSizeOverMemorySize",
                       [] { return WithPhdr(0, [](Elf64_Phdr& p) { p.p_memsz = 0x1000; }); },
                       "exceed its 0x1000 bytes of memory"},
        ParseErrorCase{
            "SegmentAddressOverflows",
            [] { return WithPhdr(0, [](Elf64_Phdr& p) { p.p_paddr = UINT64_MAX - 0x1000; }); },
            "passes the top of the address space"},
        ParseErrorCase{"OverlappingSegments",
                       [] {
                         ElfImage image;
                         image.segments = {{0x100'0000, 0x100, 0x2000}, {0x100'1000, 0x100, 0x100}};
                         return image.Build();
                       },
                       "overlap"},
        ParseErrorCase{"OnlyNotes",
                       [] {
                         ElfImage image;
                         image.segments.clear();
                         return image.Build();
                       },
                       "no loadable"},
        ParseErrorCase{"NotesPastTheEnd",
                       [] { return WithPhdr(1, [](Elf64_Phdr& p) { p.p_filesz = 0x100000; }); },
                       "run past the"},
        ParseErrorCase{"TruncatedNoteHeader",
                       [] {
                         return WithNotes({1, 0, 0, 0, 0, 0, 0, 0});
                       },
                       "header runs past"},
        ParseErrorCase{"NoteNamePastTheBlock",
                       [] {
                         auto notes = PvhNote(0x100'0010);
                         PutAt(notes, 0, uint32_t{0x1000});
                         return WithNotes(notes);
                       },
                       "name runs past"},
        ParseErrorCase{"NoteNameSizeHuge",
                       [] {
                         auto notes = PvhNote(0x100'0010);
                         PutAt(notes, 0, uint32_t{0xFFFF'FFFF});
                         return WithNotes(notes);
                       },
                       "name runs past"},
        ParseErrorCase{"NoteDescriptorPastTheBlock",
                       [] {
                         auto notes = PvhNote(0x100'0010);
                         PutAt(notes, 4, uint32_t{0xFFFF'FFF0});
                         return WithNotes(notes);
                       },
                       "descriptor runs past"},
        ParseErrorCase{"PvhDescriptorTooShort",
                       [] {
                         return WithNotes(Note(std::string("Xen\0", 4), 18, {0x10, 0}));
                       },
                       "2-byte descriptor"},
        ParseErrorCase{
            "PvhEntryAbove4GiB",
            [] {
              return WithNotes(Note(std::string("Xen\0", 4), 18, {0, 0, 0, 1, 1, 0, 0, 0}));
            },
            "above 4 GiB"},
        ParseErrorCase{"PvhEntryOutsideTheSegments", [] { return WithNotes(PvhNote(0x50'0000)); },
                       "outside the kernel's loadable segments"},
        ParseErrorCase{"BadSectionTable",
                       [] {
                         ElfImage image;
                         image.notes.clear();
                         auto f = image.Build();
                         EditHeader(f, [](Elf64_Ehdr& h) {
                           h.e_shoff = UINT64_MAX - 64;
                           h.e_shnum = 3;
                           h.e_shentsize = sizeof(Elf64_Shdr);
                         });
                         return f;
                       },
                       "section header table"}),
    [](const ::testing::TestParamInfo<ParseErrorCase>& param_info) {
      return param_info.param.name;
    });

GuestMemory MakeMemory(std::initializer_list<RegionSpec> regions) {
  Result<GuestMemory> memory = GuestMemory::Create(regions);
  EXPECT_TRUE(memory.ok()) << memory.error().ToString();
  return std::move(memory).value();
}

TEST(ElfKernelLoad, CopiesFileBytesAndZeroesTheRest) {
  const GuestMemory memory = MakeMemory({{GuestAddress(0), 64 * kMiB}});
  std::vector<uint8_t> junk(0x3000, 0xEE);
  ASSERT_TRUE(memory.Write(GuestAddress(0x100'0000), junk).ok());
  const ElfImage image;
  const auto file = image.Build();
  Result<ElfKernel> kernel = ParseElfKernel(file);
  ASSERT_TRUE(kernel.ok());
  ASSERT_TRUE(LoadElfKernel(memory, file, *kernel).ok());
  std::vector<uint8_t> loaded(0x3000);
  ASSERT_TRUE(memory.Read(GuestAddress(0x100'0000), loaded).ok());
  for (size_t i = 0; i < loaded.size(); ++i) {
    ASSERT_EQ(loaded[i], i < 0x2000 ? 0xAB : 0) << "at offset " << i;
  }
}

TEST(ElfKernelLoad, RejectsSegmentsBelowOneMiB) {
  const GuestMemory memory = MakeMemory({{GuestAddress(0), 64 * kMiB}});
  ElfImage image;
  image.segments = {{0x8000, 0x100, 0x100}};
  image.notes.clear();
  const auto file = image.Build();
  Result<ElfKernel> kernel = ParseElfKernel(file);
  ASSERT_TRUE(kernel.ok());
  Result<void> loaded = LoadElfKernel(memory, file, *kernel);
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(Contains(loaded.error().message(), "below 1 MiB")) << loaded.error().message();
}

TEST(ElfKernelLoad, RejectsSegmentsPastTheEndOfRamSayingHowMuchIsNeeded) {
  const GuestMemory memory = MakeMemory({{GuestAddress(0), 64 * kMiB}});
  ElfImage image;
  image.segments = {{0x3F0'0000, 0x100, 0x20'0000}};
  image.notes.clear();
  const auto file = image.Build();
  Result<ElfKernel> kernel = ParseElfKernel(file);
  ASSERT_TRUE(kernel.ok());
  Result<void> loaded = LoadElfKernel(memory, file, *kernel);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code(), ENOMEM);
  EXPECT_TRUE(Contains(loaded.error().message(), "needs at least 65 MiB"))
      << loaded.error().message();
}

TEST(ElfKernelLoad, RejectsSegmentsInTheMmioHole) {
  const GuestMemory memory =
      MakeMemory({{GuestAddress(0), 64 * kMiB}, {GuestAddress(kHighRamStart), 64 * kMiB}});
  ElfImage image;
  image.segments = {{kMmioHoleStart, 0x100, 0x100}};
  image.notes.clear();
  const auto file = image.Build();
  Result<ElfKernel> kernel = ParseElfKernel(file);
  ASSERT_TRUE(kernel.ok());
  EXPECT_FALSE(LoadElfKernel(memory, file, *kernel).ok());
}

TEST(ElfKernelLoad, RejectsAKernelThatDoesNotMatchTheFile) {
  const GuestMemory memory = MakeMemory({{GuestAddress(0), 64 * kMiB}});
  const auto file = ElfImage().Build();
  Result<ElfKernel> kernel = ParseElfKernel(file);
  ASSERT_TRUE(kernel.ok());
  const std::vector<uint8_t> shorter(file.begin(), file.begin() + 0x100);
  EXPECT_FALSE(LoadElfKernel(memory, shorter, *kernel).ok());
}

}  // namespace
}  // namespace hull::vmm::x86
