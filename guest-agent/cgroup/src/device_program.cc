// GenerateDeviceProgram: OCI device rules → a cgroup device eBPF program.
// Every jump goes forward to the next rule's block, so the program has no
// loops and each block is at most seven instructions.

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <string_view>

#include "hull/cgroup/device_filter.h"

namespace hull::cgroup {
namespace {

// The registers runc's devicefilter uses; r1 is the context and then scratch.
constexpr uint8_t kCtx = BPF_REG_1;
constexpr uint8_t kScratch = BPF_REG_1;
constexpr uint8_t kType = BPF_REG_2;
constexpr uint8_t kAccess = BPF_REG_3;
constexpr uint8_t kMajor = BPF_REG_4;
constexpr uint8_t kMinor = BPF_REG_5;

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn insn{};
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

// dst = *(u32*)(ctx + offset)
bpf_insn LoadCtxWord(uint8_t dst, int16_t offset) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, kCtx, offset, 0);
}
bpf_insn Alu32Imm(uint8_t op, uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn Mov32Reg(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn JumpImm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) {
  return Insn(BPF_JMP | op | BPF_K, dst, 0, off, imm);
}
bpf_insn JumpReg(uint8_t op, uint8_t dst, uint8_t src, int16_t off) {
  return Insn(BPF_JMP | op | BPF_X, dst, src, off, 0);
}
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// One rule as the checks its block makes.
struct RuleTest {
  std::optional<int32_t> type;    // BPF_DEVCG_DEV_*; nullopt: any
  std::optional<int32_t> access;  // BPF_DEVCG_ACC_* mask; nullopt: rwm (always matches)
  std::optional<int32_t> major;
  std::optional<int32_t> minor;
  bool allow = false;
};

Result<std::optional<int32_t>> DeviceNumber(const std::optional<int64_t>& number, size_t index,
                                            std::string_view which) {
  if (!number.has_value() || *number == -1) return std::optional<int32_t>();
  if (*number < 0 || *number > INT32_MAX) {
    return Error(EINVAL, fmt::format("linux.resources.devices[{}]: {} {} is out of range", index,
                                     which, *number));
  }
  return std::optional<int32_t>(static_cast<int32_t>(*number));
}

Result<RuleTest> Compile(const oci::DeviceRule& rule, size_t index) {
  RuleTest test;
  test.allow = rule.allow;
  if (rule.type == "c") {
    test.type = BPF_DEVCG_DEV_CHAR;
  } else if (rule.type == "b") {
    test.type = BPF_DEVCG_DEV_BLOCK;
  } else if (!rule.type.empty() && rule.type != "a") {
    return Error(EINVAL, fmt::format("linux.resources.devices[{}]: type \"{}\" is not a, c or b",
                                     index, rule.type));
  }
  int32_t access = 0;
  for (const char c : rule.access) {
    switch (c) {
      case 'r':
        access |= BPF_DEVCG_ACC_READ;
        break;
      case 'w':
        access |= BPF_DEVCG_ACC_WRITE;
        break;
      case 'm':
        access |= BPF_DEVCG_ACC_MKNOD;
        break;
      default:
        return Error(EINVAL, fmt::format("linux.resources.devices[{}]: access \"{}\" is not "
                                         "made of r, w and m",
                                         index, rule.access));
    }
  }
  if (access != 0 && access != kAllAccess) test.access = access;
  HULL_ASSIGN_OR_RETURN(test.major, DeviceNumber(rule.major, index, "major"));
  HULL_ASSIGN_OR_RETURN(test.minor, DeviceNumber(rule.minor, index, "minor"));
  return test;
}

// Appends the block for `test`; false when it matches every request, so
// that nothing after it could run (the verifier rejects dead code).
bool AppendBlock(const RuleTest& test, std::vector<bpf_insn>& out) {
  const int checks =
      (test.type ? 1 : 0) + (test.access ? 3 : 0) + (test.major ? 1 : 0) + (test.minor ? 1 : 0);
  // Each test jumps past the rest of the block: the remaining checks and the
  // two-instruction verdict.
  int remaining = checks;
  const auto skip = [&](int used) {
    remaining -= used;
    return static_cast<int16_t>(remaining + 2);
  };
  if (test.type) out.push_back(JumpImm(BPF_JNE, kType, *test.type, skip(1)));
  if (test.access) {
    out.push_back(Mov32Reg(kScratch, kAccess));
    out.push_back(Alu32Imm(BPF_AND, kScratch, *test.access));
    if (test.allow) {
      // if ((access & rule) != access) next: something asked for is not granted.
      out.push_back(JumpReg(BPF_JNE, kScratch, kAccess, skip(3)));
    } else {
      // if ((access & rule) == 0) next: nothing asked for is denied.
      out.push_back(JumpImm(BPF_JEQ, kScratch, 0, skip(3)));
    }
  }
  if (test.major) out.push_back(JumpImm(BPF_JNE, kMajor, *test.major, skip(1)));
  if (test.minor) out.push_back(JumpImm(BPF_JNE, kMinor, *test.minor, skip(1)));
  out.push_back(Insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, test.allow ? 1 : 0));
  out.push_back(Exit());
  return checks != 0;
}

}  // namespace

Result<std::vector<bpf_insn>> GenerateDeviceProgram(const std::vector<oci::DeviceRule>& rules) {
  std::vector<RuleTest> tests;
  tests.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    HULL_ASSIGN_OR_RETURN(RuleTest test, Compile(rules[i], i));
    tests.push_back(test);
  }

  std::vector<bpf_insn> program = {
      LoadCtxWord(kType, 0),                      // r2 = access_type
      Alu32Imm(BPF_AND, kType, 0xffff),           // w2 &= 0xffff: the device type
      LoadCtxWord(kAccess, 0),                    // r3 = access_type
      Alu32Imm(BPF_RSH, kAccess, 16),             // w3 >>= 16: the access mask
      LoadCtxWord(kMajor, sizeof(uint32_t)),      // r4 = major
      LoadCtxWord(kMinor, 2 * sizeof(uint32_t)),  // r5 = minor
  };
  for (auto it = tests.rbegin(); it != tests.rend(); ++it) {
    if (!AppendBlock(*it, program)) return program;
  }
  program.push_back(Insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));  // no match: deny
  program.push_back(Exit());
  return program;
}

}  // namespace hull::cgroup
