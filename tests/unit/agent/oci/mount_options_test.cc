#include <gtest/gtest.h>
#include <sys/mount.h>

#include <string>
#include <vector>

#include "hull/oci/names.h"

namespace hull::oci {
namespace {

constexpr unsigned long kRdonly = MS_RDONLY;

MountOptions Parse(const std::vector<std::string>& options) {
  Result<MountOptions> parsed = ParseMountOptions(options);
  EXPECT_TRUE(parsed.ok()) << parsed.error().ToString();
  return parsed.ok() ? std::move(parsed).value() : MountOptions{};
}

TEST(ParseMountOptions, MapsEachFlagOptionToItsMsFlag) {
  const struct {
    const char* option;
    unsigned long flag;
  } setters[] = {
      {"ro", MS_RDONLY},
      {"nosuid", MS_NOSUID},
      {"nodev", MS_NODEV},
      {"noexec", MS_NOEXEC},
      {"sync", MS_SYNCHRONOUS},
      {"dirsync", MS_DIRSYNC},
      {"remount", MS_REMOUNT},
      {"mand", MS_MANDLOCK},
      {"noatime", MS_NOATIME},
      {"nodiratime", MS_NODIRATIME},
      {"relatime", MS_RELATIME},
      {"strictatime", MS_STRICTATIME},
      {"nosymfollow", MS_NOSYMFOLLOW},
  };
  for (const auto& [option, flag] : setters) {
    const MountOptions parsed = Parse({option});
    EXPECT_EQ(parsed.flags, flag) << option;
    EXPECT_EQ(parsed.cleared_flags, 0u) << option;
    EXPECT_TRUE(parsed.data.empty()) << option;
  }
}

TEST(ParseMountOptions, ClearingOptionsUndoEarlierOnesAndAreRecorded) {
  const struct {
    const char* set;
    const char* clear;
    unsigned long flag;
  } pairs[] = {
      {"ro", "rw", MS_RDONLY},
      {"nosuid", "suid", MS_NOSUID},
      {"nodev", "dev", MS_NODEV},
      {"noexec", "exec", MS_NOEXEC},
      {"sync", "async", MS_SYNCHRONOUS},
      {"mand", "nomand", MS_MANDLOCK},
      {"noatime", "atime", MS_NOATIME},
      {"nodiratime", "diratime", MS_NODIRATIME},
      {"relatime", "norelatime", MS_RELATIME},
      {"strictatime", "nostrictatime", MS_STRICTATIME},
      {"nosymfollow", "symfollow", MS_NOSYMFOLLOW},
  };
  for (const auto& [set, clear, flag] : pairs) {
    const MountOptions cleared = Parse({set, clear});
    EXPECT_EQ(cleared.flags, 0u) << set << "," << clear;
    EXPECT_EQ(cleared.cleared_flags, flag) << clear;
    const MountOptions set_again = Parse({clear, set});
    EXPECT_EQ(set_again.flags, flag) << clear << "," << set;
    EXPECT_EQ(set_again.cleared_flags, 0u) << clear << "," << set;
  }
}

TEST(ParseMountOptions, DefaultsChangesNothing) {
  const MountOptions parsed = Parse({"defaults"});
  EXPECT_EQ(parsed.flags, 0u);
  EXPECT_EQ(parsed.cleared_flags, 0u);
  EXPECT_TRUE(parsed.data.empty());
  EXPECT_FALSE(parsed.bind);
}

TEST(ParseMountOptions, PassesFilesystemOptionsAsCommaJoinedData) {
  const MountOptions parsed =
      Parse({"nosuid", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", "noexec"});
  EXPECT_EQ(parsed.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
  EXPECT_EQ(parsed.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  EXPECT_EQ(parsed.MountFlags(), parsed.flags);
}

TEST(ParseMountOptions, ABindMountIsMountedThenRemountedWithItsFlags) {
  const MountOptions parsed = Parse({"bind", "ro", "nosuid"});
  EXPECT_TRUE(parsed.bind);
  EXPECT_FALSE(parsed.recursive_bind);
  EXPECT_EQ(parsed.MountFlags(), static_cast<unsigned long>(MS_BIND));
  EXPECT_TRUE(parsed.NeedsBindRemount());
  EXPECT_EQ(parsed.BindRemountFlags(),
            static_cast<unsigned long>(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID));
}

TEST(ParseMountOptions, RbindIsARecursiveBind) {
  const MountOptions parsed = Parse({"rbind", "rw"});
  EXPECT_TRUE(parsed.bind);
  EXPECT_TRUE(parsed.recursive_bind);
  EXPECT_EQ(parsed.MountFlags(), static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_FALSE(parsed.NeedsBindRemount());
  EXPECT_EQ(parsed.cleared_flags, kRdonly);
}

TEST(ParseMountOptions, ABindMountWithoutFlagsNeedsNoRemount) {
  EXPECT_FALSE(Parse({"bind"}).NeedsBindRemount());
  EXPECT_FALSE(Parse({"bind", "remount"}).NeedsBindRemount());
  EXPECT_FALSE(Parse({"ro"}).NeedsBindRemount());
}

TEST(ParseMountOptions, RecordsPropagationChangesInOrder) {
  const MountOptions parsed = Parse({"rbind", "shared", "rslave", "private", "runbindable",
                                     "rprivate", "slave", "rshared", "unbindable"});
  EXPECT_EQ(parsed.propagation,
            (std::vector<unsigned long>{MS_SHARED, MS_SLAVE | MS_REC, MS_PRIVATE,
                                        MS_UNBINDABLE | MS_REC, MS_PRIVATE | MS_REC, MS_SLAVE,
                                        MS_SHARED | MS_REC, MS_UNBINDABLE}));
  EXPECT_EQ(parsed.flags, 0u);
  EXPECT_EQ(parsed.MountFlags(), static_cast<unsigned long>(MS_BIND | MS_REC));
}

TEST(ParseMountOptions, RecordsTmpcopyup) {
  const MountOptions parsed = Parse({"tmpcopyup", "mode=755"});
  EXPECT_TRUE(parsed.tmpcopyup);
  EXPECT_EQ(parsed.data, "mode=755");
}

TEST(ParseMountOptions, RejectsWhatItCannotApplyNamingTheOption) {
  const struct {
    std::vector<std::string> options;
    const char* expected;
  } cases[] = {
      {{"ro", "idmap"}, "options[1]: \"idmap\": idmapped mounts are not supported by hull-agent"},
      {{"ridmap"}, "options[0]: \"ridmap\": idmapped mounts are not supported"},
      {{"rro"}, "options[0]: \"rro\": recursive mount attributes are not supported"},
      {{"rnosuid"}, "recursive mount attributes are not supported"},
      {{"nosuid,nodev"}, "options[0]: \"nosuid,nodev\" contains ','"},
      {{"ro", ""}, "options[1]: empty option"},
      {{std::string("mode=7\0", 7)}, "options[0]: contains a NUL byte"},
  };
  for (const auto& c : cases) {
    Result<MountOptions> parsed = ParseMountOptions(c.options);
    ASSERT_FALSE(parsed.ok()) << c.expected;
    EXPECT_NE(parsed.error().message().find(c.expected), std::string::npos)
        << "expected: " << c.expected << "\n     got: " << parsed.error().message();
  }
}

TEST(PropagationFromName, KnowsTheEightPropagations) {
  EXPECT_EQ(PropagationFromName("private"), MS_PRIVATE);
  EXPECT_EQ(PropagationFromName("rprivate"), MS_PRIVATE | MS_REC);
  EXPECT_EQ(PropagationFromName("shared"), MS_SHARED);
  EXPECT_EQ(PropagationFromName("rshared"), MS_SHARED | MS_REC);
  EXPECT_EQ(PropagationFromName("slave"), MS_SLAVE);
  EXPECT_EQ(PropagationFromName("rslave"), MS_SLAVE | MS_REC);
  EXPECT_EQ(PropagationFromName("unbindable"), MS_UNBINDABLE);
  EXPECT_EQ(PropagationFromName("runbindable"), MS_UNBINDABLE | MS_REC);
  EXPECT_FALSE(PropagationFromName("").has_value());
  EXPECT_FALSE(PropagationFromName("rbind").has_value());
  EXPECT_FALSE(PropagationFromName("PRIVATE").has_value());
}

}  // namespace
}  // namespace hull::oci
