#include "hull/vmm/core/api_server.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <exception>

#include "hull/common/eintr.h"
#include "hull/common/logging.h"

namespace hull::vmm {
namespace {

using nlohmann::json;

constexpr size_t kReadChunk = 4096;
// Reads per readiness event, so one chatty client cannot starve the loop.
constexpr int kMaxReadsPerEvent = 16;
constexpr int kMaxAcceptsPerEvent = 16;

std::string ErrorFrom(const Error& error) { return ApiErrorResponse(error.message()); }

// Best effort, for a client about to be closed.
void SendNow(int fd, std::string_view text) {
  (void)RetryOnEintr(
      [&] { return ::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL); });
}

}  // namespace

ApiServer::ApiServer(EventLoop& loop, ApiHandlers handlers, UnixListener listener)
    : loop_(loop), handlers_(std::move(handlers)), listener_(std::move(listener)) {}

Result<std::unique_ptr<ApiServer>> ApiServer::Create(std::string socket_path, EventLoop& loop,
                                                     ApiHandlers handlers) {
  HULL_ASSIGN_OR_RETURN(UnixListener listener,
                        UnixListener::Create(std::move(socket_path)).WithContext("control API"));
  std::unique_ptr<ApiServer> server(new ApiServer(loop, std::move(handlers), std::move(listener)));
  ApiServer* self = server.get();
  HULL_TRY(loop.Add(self->listener_.fd(), EPOLLIN, [self](uint32_t) { self->OnListenerReady(); })
               .WithContext("control API"));
  return server;
}

ApiServer::~ApiServer() {
  while (!clients_.empty()) CloseClient(clients_.begin()->first);
  (void)loop_.Remove(listener_.fd());
}

void ApiServer::OnListenerReady() {
  for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
    Result<UniqueFd> accepted = listener_.Accept();
    if (!accepted.ok()) {
      spdlog::warn("control API: {}", accepted.error().ToString());
      return;
    }
    UniqueFd fd = std::move(accepted).value();
    if (!fd) return;  // no more pending
    if (clients_.size() >= kMaxClients) {
      SendNow(fd.Get(),
              ApiErrorResponse(fmt::format("too many clients (at most {})", kMaxClients)));
      continue;  // closed by UniqueFd
    }
    const int raw = fd.Get();
    auto client = std::make_unique<Client>();
    client->fd = std::move(fd);
    if (Result<void> added =
            loop_.Add(raw, EPOLLIN, [this, raw](uint32_t events) { OnClientReady(raw, events); });
        !added.ok()) {
      spdlog::warn("control API: {}", added.error().ToString());
      continue;
    }
    clients_.emplace(raw, std::move(client));
    LogEvent(spdlog::level::debug, "api_client_connected", Kv("fd", raw));
  }
}

void ApiServer::OnClientReady(int fd, uint32_t events) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& client = *it->second;
  bool keep = true;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) keep = ReadRequests(client);
  if (keep && (events & EPOLLOUT) != 0) keep = Flush(client);
  if (!keep) CloseClient(fd);
}

bool ApiServer::ReadRequests(Client& client) {
  std::array<char, kReadChunk> buffer;
  bool eof = false;
  for (int i = 0; i < kMaxReadsPerEvent; ++i) {
    const ssize_t n =
        RetryOnEintr([&] { return ::read(client.fd.Get(), buffer.data(), buffer.size()); });
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;  // ECONNRESET and the like: nobody to answer
    }
    if (n == 0) {
      eof = true;
      break;
    }
    client.in.append(buffer.data(), static_cast<size_t>(n));

    size_t start = 0;
    for (size_t newline; (newline = client.in.find('\n', start)) != std::string::npos;
         start = newline + 1) {
      std::string_view line(client.in.data() + start, newline - start);
      if (line.size() > kMaxApiRequestBytes) break;  // refused below
      client.out += Respond(line);
    }
    client.in.erase(0, start);
    if (client.in.size() > kMaxApiRequestBytes) {
      client.out += ApiErrorResponse(fmt::format(
          "request line longer than {} bytes; closing the connection", kMaxApiRequestBytes));
      (void)Flush(client);
      return false;
    }
  }
  if (eof) {
    // A last request without its newline still gets its answer.
    if (!client.in.empty()) client.out += Respond(client.in);
    client.in.clear();
    (void)Flush(client);
    return false;
  }
  return Flush(client);
}

bool ApiServer::Flush(Client& client) {
  while (!client.out.empty()) {
    const ssize_t n = RetryOnEintr([&] {
      return ::send(client.fd.Get(), client.out.data(), client.out.size(),
                    MSG_DONTWAIT | MSG_NOSIGNAL);
    });
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    client.out.erase(0, static_cast<size_t>(n));
  }
  if (client.out.size() > kMaxPendingOutput) {
    spdlog::warn("control API: dropping a client that does not read its responses");
    return false;
  }
  const bool want_out = !client.out.empty();
  if (want_out != client.watching_out) {
    const uint32_t events = want_out ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    if (!loop_.Modify(client.fd.Get(), events).ok()) return false;
    client.watching_out = want_out;
  }
  return true;
}

void ApiServer::CloseClient(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  (void)loop_.Remove(fd);
  clients_.erase(it);  // closes the fd, after it left the epoll set
  LogEvent(spdlog::level::debug, "api_client_closed", Kv("fd", fd));
}

std::string ApiServer::Respond(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  Result<ApiRequest> request = ParseApiRequest(line);
  if (!request.ok()) return ErrorFrom(request.error());
  LogEvent(spdlog::level::debug, "api_request", Kv("op", ApiOpName(request->op)),
           Kv("force", request->force));
  try {
    return Dispatch(*request);
  } catch (const std::exception& e) {
    // A handler's exception must not unwind through the event loop.
    return ApiErrorResponse(fmt::format("{} failed: {}", ApiOpName(request->op), e.what()));
  }
}

std::string ApiServer::Dispatch(const ApiRequest& request) {
  const std::string_view op = ApiOpName(request.op);
  auto unsupported = [&] {
    return ApiErrorResponse(fmt::format("op \"{}\" is not supported by this VMM", op));
  };
  auto status = [&](const Result<void>& result) {
    if (result.ok()) return ApiOkResponse();
    spdlog::info("control API: {}: {}", op, result.error().ToString());
    return ErrorFrom(result.error());
  };
  switch (request.op) {
    case ApiOp::kState: {
      if (!handlers_.state) return unsupported();
      Result<std::string> state = handlers_.state();
      if (!state.ok()) return ErrorFrom(state.error());
      return ApiOkResponse("state", *state);
    }
    case ApiOp::kPause:
      return handlers_.pause ? status(handlers_.pause()) : unsupported();
    case ApiOp::kResume:
      return handlers_.resume ? status(handlers_.resume()) : unsupported();
    case ApiOp::kStop:
      return handlers_.stop ? status(handlers_.stop(request.force)) : unsupported();
    case ApiOp::kMetrics:
      return handlers_.metrics ? ApiOkResponse("metrics", handlers_.metrics()) : unsupported();
    case ApiOp::kBalloon: {
      if (!handlers_.balloon) {
        return ApiErrorResponse("this VM has no balloon: start hull-vmm with --balloon");
      }
      Result<nlohmann::json> balloon = handlers_.balloon(request.target_mib);
      if (!balloon.ok()) return ErrorFrom(balloon.error());
      return ApiOkResponse("balloon", *balloon);
    }
  }
  return unsupported();
}

}  // namespace hull::vmm
