#include "hull/vmm/core/unix_listener.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "socket_test_support.h"

namespace hull::vmm {
namespace {

using testing::ConnectUnix;
using testing::TempDir;

TEST(UnixListener, CreatesASocketWithMode0600WhateverTheUmask) {
  TempDir dir;
  const std::string path = dir.File("s.sock");
  const mode_t old_umask = umask(0);
  Result<UnixListener> listener = UnixListener::Create(path);
  umask(old_umask);
  ASSERT_TRUE(listener.ok()) << listener.error().ToString();
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(UnixListener, AcceptsNothingUntilAClientConnects) {
  TempDir dir;
  Result<UnixListener> listener = UnixListener::Create(dir.File("s.sock"));
  ASSERT_TRUE(listener.ok());
  Result<UniqueFd> none = listener->Accept();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->valid());
  UniqueFd client = ConnectUnix(listener->path());
  ASSERT_TRUE(client.valid());
  Result<UniqueFd> accepted = listener->Accept();
  ASSERT_TRUE(accepted.ok());
  EXPECT_TRUE(accepted->valid());
}

TEST(UnixListener, UnlinksOnlyItsOwnSocket) {
  TempDir dir;
  const std::string path = dir.File("s.sock");
  {
    Result<UnixListener> listener = UnixListener::Create(path);
    ASSERT_TRUE(listener.ok());
    // Someone replaced the file meanwhile: it is theirs now.
    ASSERT_EQ(unlink(path.c_str()), 0);
    std::ofstream(path) << "theirs";
  }
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0);
}

TEST(UnixListener, MovesWithoutUnlinkingTwice) {
  TempDir dir;
  const std::string path = dir.File("s.sock");
  Result<UnixListener> created = UnixListener::Create(path);
  ASSERT_TRUE(created.ok());
  UnixListener moved = std::move(created).value();
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << "the moved-from object left the file alone";
  EXPECT_EQ(moved.path(), path);
}

TEST(UnixListener, RejectsAPathTooLongForSockaddrUn) {
  Result<UnixListener> listener = UnixListener::Create("/tmp/" + std::string(200, 'x'));
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.error().code(), ENAMETOOLONG);
}

TEST(UnixListener, ErrorsNameThePath) {
  Result<UnixListener> listener = UnixListener::Create("/nonexistent/dir/s.sock");
  ASSERT_FALSE(listener.ok());
  EXPECT_NE(listener.error().message().find("listening on /nonexistent/dir/s.sock"),
            std::string::npos)
      << listener.error().message();
}

}  // namespace
}  // namespace hull::vmm
