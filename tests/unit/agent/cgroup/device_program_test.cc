#include <gtest/gtest.h>

#include <cerrno>
#include <random>
#include <string>
#include <vector>

#include "bpf_interpreter.h"
#include "hull/cgroup/device_filter.h"

namespace hull::cgroup {
namespace {

using testing::CheckProgram;
using testing::DeviceRequest;
using testing::Run;

constexpr uint32_t kChar = BPF_DEVCG_DEV_CHAR;
constexpr uint32_t kBlock = BPF_DEVCG_DEV_BLOCK;
constexpr uint32_t kRead = BPF_DEVCG_ACC_READ;
constexpr uint32_t kWrite = BPF_DEVCG_ACC_WRITE;
constexpr uint32_t kMknod = BPF_DEVCG_ACC_MKNOD;

oci::DeviceRule Rule(bool allow, std::string type, std::optional<int64_t> major,
                     std::optional<int64_t> minor, std::string access) {
  return {.allow = allow,
          .type = std::move(type),
          .major = major,
          .minor = minor,
          .access = std::move(access)};
}

std::vector<bpf_insn> Generate(const std::vector<oci::DeviceRule>& rules) {
  Result<std::vector<bpf_insn>> program = GenerateDeviceProgram(rules);
  EXPECT_TRUE(program.ok()) << program.error().ToString();
  return program.ok() ? *program : std::vector<bpf_insn>();
}

// Runs `program` on one request: true for allow. A malformed program fails
// the test.
bool Allows(const std::vector<bpf_insn>& program, DeviceRequest request) {
  const testing::RunResult result = Run(program, request);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_LE(result.r0, 1u);
  return result.ok && result.r0 == 1;
}

bool SameInsn(const bpf_insn& a, const bpf_insn& b) {
  return a.code == b.code && a.dst_reg == b.dst_reg && a.src_reg == b.src_reg && a.off == b.off &&
         a.imm == b.imm;
}

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn insn{};
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

void ExpectProgram(const std::vector<bpf_insn>& actual, const std::vector<bpf_insn>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_TRUE(SameInsn(actual[i], expected[i]))
        << "instruction " << i << ": code " << int{actual[i].code} << " dst "
        << int{actual[i].dst_reg} << " src " << int{actual[i].src_reg} << " off " << actual[i].off
        << " imm " << actual[i].imm;
  }
}

// The context loads every program starts with (runc's register layout).
const std::vector<bpf_insn> kPrologue = {
    Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0),  // r2 = access_type
    Insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff),     // w2 = type
    Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0),  // r3 = access_type
    Insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16),         // w3 = access
    Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0),  // r4 = major
    Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0),  // r5 = minor
};

std::vector<bpf_insn> WithPrologue(std::vector<bpf_insn> body) {
  std::vector<bpf_insn> program = kPrologue;
  program.insert(program.end(), body.begin(), body.end());
  return program;
}

const bpf_insn kReturnDeny = Insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
const bpf_insn kReturnAllow = Insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
const bpf_insn kExit = Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

TEST(GenerateDeviceProgram, NoRulesDenyEverything) {
  const std::vector<bpf_insn> program = Generate({});
  ExpectProgram(program, WithPrologue({kReturnDeny, kExit}));
  EXPECT_FALSE(Allows(program, {.type = kChar, .access = kRead, .major = 1, .minor = 3}));
}

TEST(GenerateDeviceProgram, OneFullRuleHasEveryCheck) {
  const std::vector<bpf_insn> program = Generate({Rule(true, "c", 1, 3, "rw")});
  ExpectProgram(program, WithPrologue({
                             // Each check jumps to the next rule's block (here: the default).
                             Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 7, BPF_DEVCG_DEV_CHAR),
                             Insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0),
                             Insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, kRead | kWrite),
                             Insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 4, 0),
                             Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 3, 1),
                             Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 2, 3),
                             kReturnAllow,
                             kExit,
                             kReturnDeny,
                             kExit,
                         }));
}

TEST(GenerateDeviceProgram, DenyRulesMatchOnAnySharedAccessBit) {
  const std::vector<bpf_insn> program = Generate({Rule(false, "c", 1, 3, "w")});
  ASSERT_EQ(program.size(), kPrologue.size() + 10);
  EXPECT_TRUE(
      SameInsn(program[kPrologue.size() + 3], Insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, 4, 0)));
}

TEST(GenerateDeviceProgram, WildcardsSkipTheirChecks) {
  // "a", any major, any minor, "rwm": always matches, so it ends the program.
  ExpectProgram(Generate({Rule(true, "a", std::nullopt, -1, "")}),
                WithPrologue({kReturnAllow, kExit}));
  ExpectProgram(Generate({Rule(false, "b", std::nullopt, std::nullopt, "rwm")}),
                WithPrologue({Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 2, BPF_DEVCG_DEV_BLOCK),
                              kReturnDeny, kExit, kReturnDeny, kExit}));
}

TEST(GenerateDeviceProgram, RulesAfterACatchAllAreNotEmitted) {
  // Evaluated last to first: "allow a" decides everything; the deny before
  // it would be dead code, which the verifier rejects.
  const std::vector<bpf_insn> program =
      Generate({Rule(false, "c", 1, 3, "rwm"), Rule(true, "a", std::nullopt, std::nullopt, "")});
  ExpectProgram(program, WithPrologue({kReturnAllow, kExit}));
  EXPECT_EQ(CheckProgram(program), "");
}

TEST(GenerateDeviceProgram, TheLastMatchingRuleWins) {
  const std::vector<bpf_insn> program = Generate({
      Rule(false, "a", std::nullopt, std::nullopt, "rwm"),  // deny all
      Rule(true, "c", 1, 3, "rwm"),                         // allow /dev/null
      Rule(true, "c", 136, std::nullopt, "rw"),             // allow /dev/pts/*
      Rule(false, "c", 136, 5, "rwm"),                      // but not /dev/pts/5
  });
  EXPECT_EQ(CheckProgram(program), "");
  EXPECT_TRUE(Allows(program, {.type = kChar, .access = kRead | kWrite, .major = 1, .minor = 3}));
  EXPECT_TRUE(Allows(program, {.type = kChar, .access = kMknod, .major = 1, .minor = 3}));
  EXPECT_FALSE(Allows(program, {.type = kBlock, .access = kRead, .major = 1, .minor = 3}));
  EXPECT_FALSE(Allows(program, {.type = kChar, .access = kRead, .major = 1, .minor = 5}));
  EXPECT_TRUE(Allows(program, {.type = kChar, .access = kWrite, .major = 136, .minor = 0}));
  EXPECT_FALSE(Allows(program, {.type = kChar, .access = kMknod, .major = 136, .minor = 0}))
      << "mknod is not in the pts rule's access";
  EXPECT_FALSE(Allows(program, {.type = kChar, .access = kRead, .major = 136, .minor = 5}));
}

TEST(GenerateDeviceProgram, AnAllowRuleMustGrantAllTheAccessAskedFor) {
  const std::vector<bpf_insn> program = Generate({Rule(true, "c", 1, 3, "r")});
  EXPECT_TRUE(Allows(program, {.type = kChar, .access = kRead, .major = 1, .minor = 3}));
  EXPECT_FALSE(Allows(program, {.type = kChar, .access = kRead | kWrite, .major = 1, .minor = 3}));
}

TEST(GenerateDeviceProgram, ADenyRuleStopsARequestThatTouchesItsAccess) {
  const std::vector<bpf_insn> program =
      Generate({Rule(true, "a", std::nullopt, std::nullopt, "rwm"), Rule(false, "c", 1, 3, "w")});
  EXPECT_TRUE(Allows(program, {.type = kChar, .access = kRead, .major = 1, .minor = 3}));
  EXPECT_FALSE(Allows(program, {.type = kChar, .access = kWrite, .major = 1, .minor = 3}));
  EXPECT_FALSE(Allows(program, {.type = kChar, .access = kRead | kWrite, .major = 1, .minor = 3}))
      << "an O_RDWR open asks for the denied write";
  EXPECT_TRUE(Allows(program, {.type = kChar, .access = kWrite, .major = 1, .minor = 5}));
}

TEST(GenerateDeviceProgram, EmptyTypeAndAccessMeanAll) {
  const std::vector<bpf_insn> program = Generate({Rule(true, "", 8, std::nullopt, "")});
  EXPECT_TRUE(Allows(program, {.type = kBlock, .access = kRead | kWrite | kMknod, .major = 8}));
  EXPECT_TRUE(Allows(program, {.type = kChar, .access = kMknod, .major = 8, .minor = 99}));
  EXPECT_FALSE(Allows(program, {.type = kBlock, .access = kRead, .major = 9}));
}

TEST(GenerateDeviceProgram, RejectsUnknownTypesAccessAndDeviceNumbers) {
  const std::vector<std::vector<oci::DeviceRule>> bad = {
      {Rule(true, "u", 1, 3, "r")},
      {Rule(true, "p", 1, 3, "r")},
      {Rule(true, "cc", 1, 3, "r")},
      {Rule(true, "c", 1, 3, "rx")},
      {Rule(true, "c", 1, 3, "R")},
      {Rule(true, "c", -2, 3, "r")},
      {Rule(true, "c", 1, int64_t{1} << 31, "r")},
      {Rule(true, "c", 1, 3, "r"), Rule(true, "z", 1, 3, "r")},
  };
  for (const auto& rules : bad) {
    Result<std::vector<bpf_insn>> program = GenerateDeviceProgram(rules);
    ASSERT_FALSE(program.ok());
    EXPECT_EQ(program.error().code(), EINVAL);
    EXPECT_NE(program.error().message().find("devices["), std::string::npos)
        << program.error().message();
  }
}

// The semantics the program must have, written plainly.
bool ReferenceAllows(const std::vector<oci::DeviceRule>& rules, const DeviceRequest& request) {
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const oci::DeviceRule& rule = *it;
    if (rule.type == "c" && request.type != kChar) continue;
    if (rule.type == "b" && request.type != kBlock) continue;
    if (rule.major.has_value() && *rule.major != -1 && *rule.major != request.major) continue;
    if (rule.minor.has_value() && *rule.minor != -1 && *rule.minor != request.minor) continue;
    uint32_t mask = 0;
    for (const char c : rule.access) mask |= c == 'r' ? kRead : c == 'w' ? kWrite : kMknod;
    if (rule.access.empty()) mask = kRead | kWrite | kMknod;
    const bool matches = rule.allow ? (request.access & ~mask) == 0 : (request.access & mask) != 0;
    if (matches) return rule.allow;
  }
  return false;
}

TEST(GenerateDeviceProgram, AgreesWithTheReferenceOnRandomRuleLists) {
  std::mt19937 random(12345);
  const auto pick = [&](auto const& options) {
    return options[std::uniform_int_distribution<size_t>(0, options.size() - 1)(random)];
  };
  const std::vector<std::string> types = {"a", "c", "b", ""};
  const std::vector<std::string> accesses = {"", "r", "w", "m", "rw", "rm", "wm", "rwm", "mwr"};
  const std::vector<std::optional<int64_t>> numbers = {std::nullopt, -1, 0, 1, 3, 5, 136};
  const std::vector<uint32_t> request_numbers = {0, 1, 3, 5, 136, 7};
  for (int list = 0; list < 300; ++list) {
    std::vector<oci::DeviceRule> rules(std::uniform_int_distribution<size_t>(0, 8)(random));
    for (oci::DeviceRule& rule : rules) {
      rule = Rule(random() % 2 == 0, pick(types), pick(numbers), pick(numbers), pick(accesses));
    }
    const std::vector<bpf_insn> program = Generate(rules);
    ASSERT_EQ(CheckProgram(program), "") << "rule list " << list;
    for (const uint32_t type : {kChar, kBlock}) {
      for (uint32_t access = 1; access <= 7; ++access) {
        for (const uint32_t major : request_numbers) {
          for (const uint32_t minor : request_numbers) {
            const DeviceRequest request{
                .type = type, .access = access, .major = major, .minor = minor};
            ASSERT_EQ(Allows(program, request), ReferenceAllows(rules, request))
                << "rule list " << list << ": type " << type << " access " << access << " " << major
                << ":" << minor;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace hull::cgroup
