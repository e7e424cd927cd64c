#pragma once

// A listening Unix stream socket at a path, owned: the control API and the
// serial console's unix: backend both serve one.
//
// The socket file is created with mode 0600 (fchmod before bind, so there is
// no window in which others may connect). A socket file left behind by a
// dead VMM (connect is refused) is removed; a live one, or a path that is
// not a socket, is an error. The destructor unlinks the path if it still is
// the socket this object bound.

#include <sys/types.h>

#include <string>

#include "hull/common/result.h"
#include "hull/common/unique_fd.h"

namespace hull::vmm {

class UnixListener {
 public:
  static Result<UnixListener> Create(std::string path, int backlog = 8);

  UnixListener(UnixListener&& other) noexcept;
  UnixListener& operator=(UnixListener&& other) noexcept;
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;
  ~UnixListener();

  // Non-blocking, close-on-exec.
  int fd() const noexcept { return fd_.Get(); }
  const std::string& path() const noexcept { return path_; }

  // A pending client (non-blocking, close-on-exec), or an invalid UniqueFd
  // when none is pending (or it went away before we took it).
  Result<UniqueFd> Accept() const;

 private:
  UnixListener(std::string path, UniqueFd fd, dev_t dev, ino_t ino) noexcept
      : path_(std::move(path)), fd_(std::move(fd)), dev_(dev), ino_(ino) {}
  void UnlinkIfOurs() noexcept;

  std::string path_;
  UniqueFd fd_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace hull::vmm
