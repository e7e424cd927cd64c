#include "hull/container/seccomp.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "child_process.h"
#include "hull/container/capabilities.h"
#include "hull/container/credentials.h"
#include "hull/container/rlimits.h"

namespace hull::container {
namespace {

using oci::SeccompAction;
using oci::SeccompArg;
using oci::SeccompOperator;
using testing::Expect;
using testing::ExpectEq;
using testing::RunInChild;
using testing::StatusField;

oci::SeccompSyscall Rule(std::vector<std::string> names, SeccompAction action,
                         std::optional<uint32_t> errno_ret = std::nullopt,
                         std::vector<SeccompArg> args = {}) {
  return oci::SeccompSyscall{
      .names = std::move(names), .action = action, .errno_ret = errno_ret, .args = std::move(args)};
}

oci::Seccomp Profile(SeccompAction default_action, std::vector<oci::SeccompSyscall> syscalls) {
  oci::Seccomp profile;
  profile.default_action = default_action;
  profile.syscalls = std::move(syscalls);
  return profile;
}

// What RunInChild's child does after its body returns, and what allocation
// may need: to be allowed by a profile whose default is to refuse.
const std::vector<std::string> kChildNeeds = {
    "write",          "exit_group",  "exit",  "mmap",   "munmap",
    "mprotect",       "madvise",     "brk",   "futex",  "rt_sigreturn",
    "rt_sigprocmask", "sigaltstack", "close", "getpid", "gettid"};

// The child's way to a filter, as the container's: no_new_privs, then load.
Result<void> Install(const oci::Seccomp& profile) {
  HULL_ASSIGN_OR_RETURN(const SeccompProgram program, SeccompProgram::Build(profile));
  HULL_TRY(SetNoNewPrivileges());
  return program.Load();
}

// errno of a raw syscall that failed, 0 when it succeeded.
int ErrnoOf(long result) { return result == -1 ? errno : 0; }

int GetcwdErrno() {
  std::array<char, 4096> buffer{};
  return ErrnoOf(::syscall(SYS_getcwd, buffer.data(), buffer.size()));
}

int GetpriorityErrno(int which) { return ErrnoOf(::syscall(SYS_getpriority, which, 0)); }

int PersonalityErrno(unsigned long persona) { return ErrnoOf(::syscall(SYS_personality, persona)); }

TEST(SeccompProgram, ErrnoRuleFailsThatSyscallWithItsErrnoAndNoOther) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(
        Install(Profile(SeccompAction::kAllow, {Rule({"getcwd"}, SeccompAction::kErrno, 42)})));
    HULL_TRY(ExpectEq(GetcwdErrno(), 42, "getcwd errno"));
    HULL_TRY(ExpectEq(ErrnoOf(::syscall(SYS_getppid)), 0, "getppid errno"));
    HULL_ASSIGN_OR_RETURN(const std::string mode, StatusField("Seccomp"));
    return ExpectEq(mode, std::string("2"), "Seccomp (2: filter)");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, ErrnoActionWithoutErrnoRetReturnsEperm) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(Install(Profile(SeccompAction::kAllow, {Rule({"getcwd"}, SeccompAction::kErrno)})));
    return ExpectEq(GetcwdErrno(), EPERM, "getcwd errno");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, DefaultErrnoAppliesToEverySyscallNotAllowed) {
  const auto outcome = RunInChild([]() -> Result<void> {
    oci::Seccomp profile =
        Profile(SeccompAction::kErrno, {Rule(kChildNeeds, SeccompAction::kAllow)});
    profile.default_errno_ret = 77;
    HULL_TRY(Install(profile));
    HULL_TRY(ExpectEq(GetcwdErrno(), 77, "getcwd errno"));
    HULL_TRY(ExpectEq(ErrnoOf(::syscall(SYS_getppid)), 77, "getppid errno"));
    return ExpectEq(ErrnoOf(::syscall(SYS_getpid)), 0, "getpid errno");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, ArgumentRuleAllowsOnlyTheMatchingValue) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(Install(Profile(
        SeccompAction::kErrno,
        {Rule(kChildNeeds, SeccompAction::kAllow),
         Rule({"personality"}, SeccompAction::kAllow, std::nullopt,
              {SeccompArg{.index = 0, .value = 0xffffffff, .op = SeccompOperator::kEqualTo}})})));
    HULL_TRY(ExpectEq(PersonalityErrno(0xffffffff), 0, "personality(query) errno"));
    HULL_TRY(ExpectEq(PersonalityErrno(PER_LINUX32), EPERM, "personality(PER_LINUX32) errno"));
    return ExpectEq(ErrnoOf(::syscall(SYS_getppid)), EPERM, "getppid errno (the default)");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, ArgumentsOfOneIndexMatchAnyOfTheirValues) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(Install(Profile(
        SeccompAction::kAllow,
        {Rule({"personality"}, SeccompAction::kErrno, 43,
              {SeccompArg{.index = 0, .value = PER_LINUX32, .op = SeccompOperator::kEqualTo},
               SeccompArg{.index = 0, .value = PER_BSD, .op = SeccompOperator::kEqualTo}})})));
    HULL_TRY(ExpectEq(PersonalityErrno(PER_LINUX32), 43, "personality(PER_LINUX32) errno"));
    HULL_TRY(ExpectEq(PersonalityErrno(PER_BSD), 43, "personality(PER_BSD) errno"));
    return ExpectEq(PersonalityErrno(0xffffffff), 0, "personality(query) errno");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, ArgumentsOfDifferentIndexesMustAllMatch) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(Install(Profile(
        SeccompAction::kAllow,
        {Rule({"getpriority"}, SeccompAction::kErrno, 44,
              {SeccompArg{.index = 0, .value = PRIO_PROCESS, .op = SeccompOperator::kEqualTo},
               SeccompArg{.index = 1, .value = 0, .op = SeccompOperator::kEqualTo}})})));
    HULL_TRY(ExpectEq(ErrnoOf(::syscall(SYS_getpriority, PRIO_PROCESS, 0)), 44,
                      "getpriority(PRIO_PROCESS, 0) errno"));
    HULL_TRY(ExpectEq(ErrnoOf(::syscall(SYS_getpriority, PRIO_PROCESS, ::getpid())), 0,
                      "getpriority(PRIO_PROCESS, getpid()) errno"));
    return ExpectEq(ErrnoOf(::syscall(SYS_getpriority, PRIO_PGRP, 0)), 0,
                    "getpriority(PRIO_PGRP, 0) errno");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

struct OperatorCase {
  const char* name;
  SeccompArg arg;
  std::set<int> refused;  // of getpriority's `which` 0, 1, 2
};

class SeccompOperatorTest : public ::testing::TestWithParam<OperatorCase> {};

TEST_P(SeccompOperatorTest, ComparesTheFirstArgument) {
  const OperatorCase& c = GetParam();
  const auto outcome = RunInChild([&c]() -> Result<void> {
    HULL_TRY(Install(Profile(SeccompAction::kAllow,
                             {Rule({"getpriority"}, SeccompAction::kErrno, 45, {c.arg})})));
    for (int which = 0; which <= 2; ++which) {
      const int want = c.refused.contains(which) ? 45 : 0;
      HULL_TRY(ExpectEq(GetpriorityErrno(which), want,
                        "getpriority(" + std::to_string(which) + ", 0) errno"));
    }
    return Ok();
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

INSTANTIATE_TEST_SUITE_P(
    AllOperators, SeccompOperatorTest,
    ::testing::Values(
        OperatorCase{
            "NotEqual", {.index = 0, .value = 1, .op = SeccompOperator::kNotEqual}, {0, 2}},
        OperatorCase{"LessThan", {.index = 0, .value = 1, .op = SeccompOperator::kLessThan}, {0}},
        OperatorCase{
            "LessEqual", {.index = 0, .value = 1, .op = SeccompOperator::kLessEqual}, {0, 1}},
        OperatorCase{"EqualTo", {.index = 0, .value = 1, .op = SeccompOperator::kEqualTo}, {1}},
        OperatorCase{
            "GreaterEqual", {.index = 0, .value = 1, .op = SeccompOperator::kGreaterEqual}, {1, 2}},
        OperatorCase{
            "GreaterThan", {.index = 0, .value = 1, .op = SeccompOperator::kGreaterThan}, {2}},
        // value is the mask: (which & 2) == 0; swapped, (which & 0) == 2 would match none.
        OperatorCase{"MaskedEqual",
                     {.index = 0, .value = 2, .value_two = 0, .op = SeccompOperator::kMaskedEqual},
                     {0, 1}}),
    [](const ::testing::TestParamInfo<OperatorCase>& param_info) { return param_info.param.name; });

TEST(SeccompProgram, SkipsAndListsSyscallNamesLibseccompDoesNotKnow) {
  const oci::Seccomp profile = Profile(
      SeccompAction::kAllow,
      {Rule({"hull_no_such_syscall", "getcwd", "another_unknown"}, SeccompAction::kErrno, 42)});
  Result<SeccompProgram> program = SeccompProgram::Build(profile);
  ASSERT_TRUE(program.ok()) << program.error().ToString();
  EXPECT_EQ(program->unknown_syscalls(),
            (std::vector<std::string>{"hull_no_such_syscall", "another_unknown"}));
  const auto outcome = RunInChild([&profile]() -> Result<void> {
    HULL_TRY(Install(profile));
    return ExpectEq(GetcwdErrno(), 42, "getcwd errno (its rule is kept)");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, SkipsRulesWithTheDefaultAction) {
  const oci::Seccomp without =
      Profile(SeccompAction::kErrno, {Rule({"read"}, SeccompAction::kAllow)});
  oci::Seccomp with = without;
  with.syscalls.push_back(Rule({"getcwd"}, SeccompAction::kErrno, EPERM));
  with.syscalls.push_back(Rule({"getppid"}, SeccompAction::kErrno));
  Result<SeccompProgram> plain = SeccompProgram::Build(without);
  Result<SeccompProgram> skipped = SeccompProgram::Build(with);
  ASSERT_TRUE(plain.ok()) << plain.error().ToString();
  ASSERT_TRUE(skipped.ok()) << skipped.error().ToString();
  EXPECT_EQ(*plain->ExportBpf(), *skipped->ExportBpf());

  // Another errno is another action.
  with.syscalls.push_back(Rule({"getcwd"}, SeccompAction::kErrno, 42));
  Result<SeccompProgram> kept = SeccompProgram::Build(with);
  ASSERT_TRUE(kept.ok()) << kept.error().ToString();
  EXPECT_NE(*plain->ExportBpf(), *kept->ExportBpf());
}

TEST(SeccompProgram, RefusesAnUnknownArchitectureNamingIt) {
  oci::Seccomp profile = Profile(SeccompAction::kAllow, {});
  profile.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
  Result<SeccompProgram> program = SeccompProgram::Build(profile);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().code(), EINVAL);
  EXPECT_EQ(program.error().message(), "unknown seccomp architecture \"SCMP_ARCH_VAX\"");
}

TEST(SeccompProgram, AddsTheNamedArchitecturesToTheNativeOne) {
  const oci::Seccomp native = Profile(
      SeccompAction::kErrno, {Rule({"read", "write", "socketcall"}, SeccompAction::kAllow)});
  oci::Seccomp several = native;
  several.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                           "SCMP_ARCH_AARCH64"};
  Result<SeccompProgram> one = SeccompProgram::Build(native);
  Result<SeccompProgram> more = SeccompProgram::Build(several);
  ASSERT_TRUE(one.ok()) << one.error().ToString();
  ASSERT_TRUE(more.ok()) << more.error().ToString();
  EXPECT_TRUE(more->unknown_syscalls().empty()) << "socketcall is known on 32-bit x86";
  Result<std::vector<uint8_t>> one_bpf = one->ExportBpf();
  Result<std::vector<uint8_t>> more_bpf = more->ExportBpf();
  ASSERT_TRUE(one_bpf.ok()) << one_bpf.error().ToString();
  ASSERT_TRUE(more_bpf.ok()) << more_bpf.error().ToString();
  EXPECT_GT(more_bpf->size(), one_bpf->size());
}

class SeccompKillTest : public ::testing::TestWithParam<SeccompAction> {};

TEST_P(SeccompKillTest, KillsTheChildWithSigsys) {
  const SeccompAction action = GetParam();
  const auto outcome = RunInChild([action]() -> Result<void> {
    HULL_TRY(ApplyRlimit(RLIMIT_CORE, 0, 0));  // no core file
    HULL_TRY(Install(Profile(SeccompAction::kAllow, {Rule({"getcwd"}, action)})));
    GetcwdErrno();
    return Error(EINVAL, "still alive after getcwd");
  });
  EXPECT_FALSE(outcome.exited) << outcome.Describe();
  EXPECT_EQ(outcome.signal, SIGSYS) << outcome.Describe();
}

INSTANTIATE_TEST_SUITE_P(KillActions, SeccompKillTest,
                         ::testing::Values(SeccompAction::kKill, SeccompAction::kKillThread,
                                           SeccompAction::kKillProcess),
                         [](const ::testing::TestParamInfo<SeccompAction>& param_info) {
                           switch (param_info.param) {
                             case SeccompAction::kKill:
                               return "Kill";
                             case SeccompAction::kKillThread:
                               return "KillThread";
                             default:
                               return "KillProcess";
                           }
                         });

TEST(SeccompProgram, TraceWithoutATracerFailsTheSyscallWithEnosys) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(Install(Profile(SeccompAction::kAllow, {Rule({"getcwd"}, SeccompAction::kTrace)})));
    return ExpectEq(GetcwdErrno(), ENOSYS, "getcwd errno");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, LogActionLetsTheSyscallRun) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_TRY(Install(Profile(SeccompAction::kAllow, {Rule({"getcwd"}, SeccompAction::kLog)})));
    return ExpectEq(GetcwdErrno(), 0, "getcwd errno");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, LoadLeavesNoNewPrivsToTheCaller) {
  if (std::string why = testing::MissingCapabilities(CapabilityBit(CAP_SYS_ADMIN)); !why.empty()) {
    GTEST_SKIP() << why;
  }
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(
        const SeccompProgram program,
        SeccompProgram::Build(
            Profile(SeccompAction::kAllow, {Rule({"getcwd"}, SeccompAction::kErrno, 42)})));
    HULL_TRY(program.Load());  // allowed by CAP_SYS_ADMIN
    HULL_ASSIGN_OR_RETURN(const std::string no_new_privs, StatusField("NoNewPrivs"));
    HULL_TRY(ExpectEq(no_new_privs, std::string("0"), "NoNewPrivs"));
    return ExpectEq(GetcwdErrno(), 42, "getcwd errno");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, LoadWithoutNoNewPrivsOrCapSysAdminFails) {
  const auto outcome = RunInChild([]() -> Result<void> {
    HULL_ASSIGN_OR_RETURN(const uint64_t permitted, testing::StatusMask("CapPrm"));
    const uint64_t without = permitted & ~CapabilityBit(CAP_SYS_ADMIN);
    HULL_TRY(ApplyCapabilities({.effective = without, .permitted = without}));
    HULL_ASSIGN_OR_RETURN(const SeccompProgram program,
                          SeccompProgram::Build(Profile(SeccompAction::kAllow, {})));
    Result<void> result = program.Load();
    HULL_TRY(Expect(!result.ok(), "loaded a filter without no_new_privs or CAP_SYS_ADMIN"));
    HULL_TRY(ExpectEq(result.error().code(), EACCES, "error code"));
    return ExpectEq(result.error().message(), std::string("seccomp_load: Permission denied"),
                    "error message");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, RefusesNotify) {
  Result<SeccompProgram> as_default = SeccompProgram::Build(Profile(SeccompAction::kNotify, {}));
  ASSERT_FALSE(as_default.ok());
  EXPECT_EQ(as_default.error().code(), EOPNOTSUPP);
  EXPECT_EQ(as_default.error().message(),
            "seccomp defaultAction: seccomp action SCMP_ACT_NOTIFY is not supported");

  Result<SeccompProgram> in_rule = SeccompProgram::Build(
      Profile(SeccompAction::kAllow,
              {Rule({"read"}, SeccompAction::kKill), Rule({"getcwd"}, SeccompAction::kNotify)}));
  ASSERT_FALSE(in_rule.ok());
  EXPECT_EQ(in_rule.error().message(),
            "seccomp syscalls[1]: seccomp action SCMP_ACT_NOTIFY is not supported");

  oci::Seccomp listener = Profile(SeccompAction::kAllow, {});
  listener.listener_path = "/run/seccomp-agent.sock";
  EXPECT_EQ(SeccompProgram::Build(listener).error().code(), EOPNOTSUPP);
}

TEST(SeccompProgram, SetsTheKnownFlags) {
  oci::Seccomp profile =
      Profile(SeccompAction::kAllow, {Rule({"getcwd"}, SeccompAction::kErrno, 42)});
  profile.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                   "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  ASSERT_TRUE(SeccompProgram::Build(profile).ok());
  const auto outcome = RunInChild([&profile]() -> Result<void> {
    HULL_TRY(Install(profile));
    return ExpectEq(GetcwdErrno(), 42, "getcwd errno");
  });
  EXPECT_TRUE(outcome.Succeeded()) << outcome.Describe();
}

TEST(SeccompProgram, RefusesAnUnknownFlagNamingIt) {
  oci::Seccomp profile = Profile(SeccompAction::kAllow, {});
  profile.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NEW_LISTENER"};
  Result<SeccompProgram> program = SeccompProgram::Build(profile);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().code(), EINVAL);
  EXPECT_EQ(program.error().message(), "unknown seccomp flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\"");
}

TEST(SeccompProgram, RefusesAnErrnoRetAbove16Bits) {
  Result<SeccompProgram> program = SeccompProgram::Build(
      Profile(SeccompAction::kAllow, {Rule({"getcwd"}, SeccompAction::kErrno, 0x10000)}));
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().message(),
            "seccomp syscalls[0]: errnoRet 65536 does not fit in 16 bits");
}

TEST(SeccompProgram, RefusesAnArgumentIndexAbove5) {
  Result<SeccompProgram> program = SeccompProgram::Build(
      Profile(SeccompAction::kAllow,
              {Rule({"getcwd"}, SeccompAction::kErrno, 1, {SeccompArg{.index = 6, .value = 0}})}));
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().message(),
            "seccomp syscalls[0]: seccomp argument index 6 is not below 6");
}

TEST(SeccompProgram, ExportsWholeSockFilterInstructions) {
  Result<SeccompProgram> program = SeccompProgram::Build(
      Profile(SeccompAction::kAllow, {Rule({"getcwd"}, SeccompAction::kErrno, 42)}));
  ASSERT_TRUE(program.ok()) << program.error().ToString();
  Result<std::vector<uint8_t>> bpf = program->ExportBpf();
  ASSERT_TRUE(bpf.ok()) << bpf.error().ToString();
  EXPECT_FALSE(bpf->empty());
  EXPECT_EQ(bpf->size() % 8, 0u) << "struct sock_filter is 8 bytes";
}

TEST(SeccompProgram, AMovedFromProgramRefusesToLoad) {
  Result<SeccompProgram> program = SeccompProgram::Build(Profile(SeccompAction::kAllow, {}));
  ASSERT_TRUE(program.ok()) << program.error().ToString();
  SeccompProgram moved = std::move(*program);
  EXPECT_TRUE(moved.ExportBpf().ok());
  EXPECT_EQ(program->Load().error().code(), EINVAL);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(program->ExportBpf().error().code(), EINVAL);
}

}  // namespace
}  // namespace hull::container
