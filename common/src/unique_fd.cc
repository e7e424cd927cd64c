#include "hull/common/unique_fd.h"

#include <unistd.h>

namespace hull {

void UniqueFd::Reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) {
    // Linux releases the descriptor even when close() fails (EINTR included),
    // so a retry could close an unrelated, newly opened fd: never retry.
    ::close(fd_);
  }
  fd_ = fd;
}

}  // namespace hull
