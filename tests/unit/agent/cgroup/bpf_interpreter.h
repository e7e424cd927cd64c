#pragma once

// A tiny eBPF interpreter for the instructions GenerateDeviceProgram emits,
// so that tests can run a device program on a request (the kernel's
// BPF_PROG_TEST_RUN does not take cgroup device programs). It also makes the
// verifier's structural checks that matter for these programs: known opcodes
// only, context loads of u32 at 0/4/8 only, jumps forward and in bounds, r0
// set before exit, and no unreachable instruction.

#include <linux/bpf.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hull::cgroup::testing {

struct DeviceRequest {
  uint32_t type = BPF_DEVCG_DEV_CHAR;    // BPF_DEVCG_DEV_*
  uint32_t access = BPF_DEVCG_ACC_READ;  // BPF_DEVCG_ACC_* mask
  uint32_t major = 0;
  uint32_t minor = 0;
};

struct RunResult {
  bool ok = false;  // false: the program is malformed; `error` says how
  std::string error;
  uint64_t r0 = 0;
};

// Checks what the kernel verifier would reject in our subset; "" if fine.
inline std::string CheckProgram(const std::vector<bpf_insn>& program) {
  if (program.empty()) return "empty program";
  std::vector<bool> reachable(program.size(), false);
  reachable[0] = true;
  for (size_t pc = 0; pc < program.size(); ++pc) {
    if (!reachable[pc]) return "unreachable instruction " + std::to_string(pc);
    const bpf_insn& insn = program[pc];
    const uint8_t cls = BPF_CLASS(insn.code);
    if (insn.code == (BPF_JMP | BPF_EXIT)) continue;
    if (cls == BPF_JMP) {
      const uint8_t op = BPF_OP(insn.code);
      if (op != BPF_JNE && op != BPF_JEQ) return "unknown jump at " + std::to_string(pc);
      if (insn.off < 0) return "backward jump at " + std::to_string(pc);
      const size_t target = pc + 1 + static_cast<size_t>(insn.off);
      if (target >= program.size()) return "jump out of bounds at " + std::to_string(pc);
      reachable[target] = true;
    }
    if (pc + 1 >= program.size()) return "falls off the end at " + std::to_string(pc);
    reachable[pc + 1] = true;
  }
  return "";
}

inline RunResult Run(const std::vector<bpf_insn>& program, const DeviceRequest& request) {
  RunResult result;
  if (std::string error = CheckProgram(program); !error.empty()) {
    result.error = error;
    return result;
  }
  const std::array<uint32_t, 3> ctx = {(request.access << 16) | request.type, request.major,
                                       request.minor};
  std::array<uint64_t, 11> reg{};
  std::array<bool, 11> init{};
  init[BPF_REG_1] = true;  // the context pointer: only loads may use it
  bool r1_is_ctx = true;
  const auto fail = [&](std::string why, size_t pc) {
    result.error = why + " at " + std::to_string(pc);
    return result;
  };
  for (size_t pc = 0, steps = 0; pc < program.size() && steps < 4096; ++steps) {
    const bpf_insn& insn = program[pc];
    const uint8_t dst = insn.dst_reg;
    const uint8_t src = insn.src_reg;
    if (dst > 10 || src > 10) return fail("bad register", pc);
    switch (insn.code) {
      case BPF_LDX | BPF_MEM | BPF_W: {
        if (src != BPF_REG_1 || !r1_is_ctx) return fail("load not from the context", pc);
        if (insn.off < 0 || insn.off % 4 != 0 || insn.off / 4 >= 3) {
          return fail("bad context offset", pc);
        }
        reg[dst] = ctx[static_cast<size_t>(insn.off / 4)];
        init[dst] = true;
        if (dst == BPF_REG_1) r1_is_ctx = false;
        break;
      }
      case BPF_ALU | BPF_AND | BPF_K:
      case BPF_ALU | BPF_RSH | BPF_K: {
        if (!init[dst] || (dst == BPF_REG_1 && r1_is_ctx)) return fail("ALU on no scalar", pc);
        const uint32_t value = static_cast<uint32_t>(reg[dst]);
        const uint32_t imm = static_cast<uint32_t>(insn.imm);
        if (BPF_OP(insn.code) == BPF_RSH && imm >= 32) return fail("shift too far", pc);
        reg[dst] = BPF_OP(insn.code) == BPF_AND ? (value & imm) : (value >> imm);
        break;
      }
      case BPF_ALU | BPF_MOV | BPF_X:
        if (!init[src] || (src == BPF_REG_1 && r1_is_ctx)) return fail("move of no scalar", pc);
        reg[dst] = static_cast<uint32_t>(reg[src]);
        init[dst] = true;
        if (dst == BPF_REG_1) r1_is_ctx = false;
        break;
      case BPF_ALU | BPF_MOV | BPF_K:
        reg[dst] = static_cast<uint32_t>(insn.imm);
        init[dst] = true;
        if (dst == BPF_REG_1) r1_is_ctx = false;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
      case BPF_JMP | BPF_JEQ | BPF_K:
      case BPF_JMP | BPF_JNE | BPF_X: {
        if (!init[dst] || (dst == BPF_REG_1 && r1_is_ctx)) return fail("compare of no scalar", pc);
        // 64-bit compares; the immediate is sign-extended, as in the kernel.
        const uint64_t other =
            BPF_SRC(insn.code) == BPF_X ? reg[src] : static_cast<uint64_t>(int64_t{insn.imm});
        if (BPF_SRC(insn.code) == BPF_X && !init[src]) return fail("compare with no scalar", pc);
        const bool equal = reg[dst] == other;
        const bool taken = BPF_OP(insn.code) == BPF_JEQ ? equal : !equal;
        pc += 1 + (taken ? static_cast<size_t>(insn.off) : 0);
        continue;
      }
      case BPF_JMP | BPF_EXIT:
        if (!init[BPF_REG_0]) return fail("exit without r0", pc);
        result.ok = true;
        result.r0 = reg[BPF_REG_0];
        return result;
      default:
        return fail("unsupported opcode " + std::to_string(insn.code), pc);
    }
    ++pc;
  }
  return fail("ran off the end", program.size());
}

}  // namespace hull::cgroup::testing
