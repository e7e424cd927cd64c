#include "child_process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "hull/common/eintr.h"
#include "hull/common/unique_fd.h"

namespace hull::container::testing {
namespace {

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = RetryOnEintr([&] { return ::write(fd, text.data(), text.size()); });
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

std::string Trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\n");
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(" \t\n");
  return std::string(text.substr(begin, end - begin + 1));
}

}  // namespace

std::string ChildOutcome::Describe() const {
  if (!exited) {
    return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  }
  std::string text = "exit " + std::to_string(exit_code);
  if (!message.empty()) text += ": " + message;
  return text;
}

ChildOutcome RunInChild(const std::function<Result<void>()>& body) {
  ChildOutcome outcome;
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    outcome.message = std::string("pipe2: ") + std::strerror(errno);
    return outcome;
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) {
    outcome.message = std::string("fork: ") + std::strerror(errno);
    return outcome;
  }
  if (pid == 0) {
    read_end.Reset();
    Result<void> result = body();
    if (result.ok()) ::_exit(0);
    WriteAll(write_end.Get(), result.error().ToString());
    ::_exit(1);
  }
  write_end.Reset();
  std::array<char, 512> buffer{};
  for (;;) {
    const ssize_t n =
        RetryOnEintr([&] { return ::read(read_end.Get(), buffer.data(), buffer.size()); });
    if (n <= 0) break;
    outcome.message.append(buffer.data(), static_cast<size_t>(n));
  }
  int status = 0;
  if (RetryOnEintr([&] { return ::waitpid(pid, &status, 0); }) != pid) {
    outcome.message += std::string(" (waitpid: ") + std::strerror(errno) + ")";
    return outcome;
  }
  if (WIFEXITED(status)) {
    outcome.exited = true;
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
  }
  return outcome;
}

Result<std::string> StatusField(std::string_view key) {
  std::ifstream status("/proc/self/status");
  if (!status) return Error(ENOENT, "cannot open /proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    const std::string_view view(line);
    if (view.size() > key.size() && view.substr(0, key.size()) == key && view[key.size()] == ':') {
      return Trim(view.substr(key.size() + 1));
    }
  }
  return Error(ENOENT, "no " + std::string(key) + " line in /proc/self/status");
}

Result<uint64_t> StatusMask(std::string_view key) {
  HULL_ASSIGN_OR_RETURN(const std::string text, StatusField(key));
  char* end = nullptr;
  errno = 0;
  const unsigned long long mask = std::strtoull(text.c_str(), &end, 16);
  if (errno != 0 || end == text.c_str() || *end != '\0') {
    return Error(EINVAL, std::string(key) + " is not a hex mask: " + text);
  }
  return uint64_t{mask};
}

Result<void> Expect(bool condition, std::string_view what) {
  if (condition) return Ok();
  return Error(EINVAL, std::string(what));
}

Result<void> ExpectMask(uint64_t actual, uint64_t expected, std::string_view what) {
  if (actual == expected) return Ok();
  std::ostringstream text;
  text << what << ": got 0x" << std::hex << actual << ", want 0x" << expected;
  return Expect(false, text.str());
}

std::string MissingCapabilities(uint64_t needed) {
  Result<uint64_t> effective = StatusMask("CapEff");
  if (!effective.ok()) return effective.error().ToString();
  const uint64_t missing = needed & ~*effective;
  if (missing == 0) return {};
  std::ostringstream text;
  text << "needs capabilities 0x" << std::hex << missing << " that this process (euid " << std::dec
       << ::geteuid() << ") lacks; run the tests as root";
  return text.str();
}

}  // namespace hull::container::testing
