#include "net_namespace_child.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hull/agent/net/address.h"
#include "hull/agent/net/netlink.h"
#include "hull/common/eintr.h"

namespace hull::agent::net::testing {
namespace {

constexpr std::string_view kSkipPrefix = "skip: ";
constexpr int kExitPassed = 0;
constexpr int kExitFailed = 1;
constexpr int kExitSkipped = 2;

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n =
        RetryOnEintr([&] { return ::write(fd, text.data() + done, text.size() - done); });
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void RunChild(int report_fd, const std::function<Result<void>()>& body) {
  if (::unshare(CLONE_NEWNET) != 0) {
    const int error = errno;
    WriteAll(report_fd, "unshare(CLONE_NEWNET): " + std::string(std::strerror(error)) +
                            (error == EPERM ? " (needs root / CAP_SYS_ADMIN)" : ""));
    ::_exit(error == EPERM ? kExitSkipped : kExitFailed);
  }
  const Result<void> result = body();
  if (result.ok()) ::_exit(kExitPassed);
  const std::string& message = result.error().message();
  if (message.starts_with(kSkipPrefix)) {
    WriteAll(report_fd, message.substr(kSkipPrefix.size()));
    ::_exit(kExitSkipped);
  }
  WriteAll(report_fd, result.error().ToString());
  ::_exit(kExitFailed);
}

}  // namespace

ChildOutcome RunInNewNetworkNamespace(const std::function<Result<void>()>& body) {
  ChildOutcome outcome;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    outcome.message = "pipe2: " + std::string(std::strerror(errno));
    return outcome;
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const pid_t pid = ::fork();
  if (pid < 0) {
    outcome.message = "fork: " + std::string(std::strerror(errno));
    return outcome;
  }
  if (pid == 0) {
    read_end.Reset();
    RunChild(write_end.Get(), body);
  }
  write_end.Reset();
  char buffer[4096];
  for (;;) {
    const ssize_t n = RetryOnEintr([&] { return ::read(read_end.Get(), buffer, sizeof(buffer)); });
    if (n <= 0) break;
    outcome.message.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  if (RetryOnEintr([&] { return ::waitpid(pid, &status, 0); }) != pid) {
    outcome.message += "waitpid: " + std::string(std::strerror(errno));
    return outcome;
  }
  if (WIFEXITED(status)) {
    switch (WEXITSTATUS(status)) {
      case kExitPassed:
        outcome.kind = ChildOutcome::Kind::kPassed;
        break;
      case kExitSkipped:
        outcome.kind = ChildOutcome::Kind::kSkipped;
        break;
      default:
        outcome.message =
            "child exited " + std::to_string(WEXITSTATUS(status)) + ": " + outcome.message;
        break;
    }
  } else if (WIFSIGNALED(status)) {
    outcome.message = "child killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                      ::strsignal(WTERMSIG(status)) + ") " + outcome.message;
  }
  return outcome;
}

Error Skip(std::string_view reason) {
  return Error(ENOTSUP, std::string(kSkipPrefix) + std::string(reason));
}

Result<void> Expect(bool condition, std::string_view what) {
  if (condition) return Ok();
  return Error(EINVAL, "expectation failed: " + std::string(what));
}

Result<UniqueFd> CreateTap(const std::string& name, const std::string& mac) {
  UniqueFd tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!tun) {
    if (errno == ENOENT || errno == ENXIO || errno == ENODEV) {
      return Skip("no /dev/net/tun: " + std::string(std::strerror(errno)));
    }
    return Error::FromErrno(errno, "open /dev/net/tun");
  }
  ifreq request{};
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  request.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (::ioctl(tun.Get(), TUNSETIFF, &request) != 0) {
    return Error::FromErrno(errno, "TUNSETIFF " + name);
  }
  HULL_ASSIGN_OR_RETURN(const MacAddress address, ParseMac(mac));
  HULL_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
  const auto index = static_cast<int>(::if_nametoindex(name.c_str()));
  if (index == 0) return Error::FromErrno(errno, "if_nametoindex " + name);
  HULL_TRY(netlink.SetMac(index, address));
  return tun;
}

}  // namespace hull::agent::net::testing
