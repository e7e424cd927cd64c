#include "proc_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>

#include "hull/common/eintr.h"
#include "hull/common/unique_fd.h"

namespace hull::container::internal {

Result<std::string> ReadProcFile(const char* path) {
  UniqueFd fd(RetryOnEintr([&] { return ::open(path, O_RDONLY | O_CLOEXEC); }));
  if (!fd) return Error::FromErrno(errno, std::string("open ") + path);
  std::string text;
  std::array<char, 256> buffer{};
  for (;;) {
    const ssize_t n = RetryOnEintr([&] { return ::read(fd.Get(), buffer.data(), buffer.size()); });
    if (n < 0) return Error::FromErrno(errno, std::string("read ") + path);
    if (n == 0) return text;
    text.append(buffer.data(), static_cast<size_t>(n));
  }
}

Result<void> WriteProcFile(const char* path, std::string_view text) {
  UniqueFd fd(RetryOnEintr([&] { return ::open(path, O_WRONLY | O_CLOEXEC); }));
  if (!fd) return Error::FromErrno(errno, std::string("open ") + path);
  const ssize_t n = RetryOnEintr([&] { return ::write(fd.Get(), text.data(), text.size()); });
  if (n < 0) return Error::FromErrno(errno, std::string("write ") + path);
  if (static_cast<size_t>(n) != text.size()) {
    return Error(EIO, std::string("write ") + path + ": short write");
  }
  return Ok();
}

}  // namespace hull::container::internal
