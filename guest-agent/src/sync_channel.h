#pragma once

// Length-prefixed frames over a stream socket: how hull-agent and the
// single-threaded container-init process it spawns talk (the set-up
// description one way; "pid", "ready", "error" the other). A frame is a
// 4-byte little-endian length and that many bytes; frames above kMaxFrame are
// refused, so a confused peer cannot make the other side allocate gigabytes.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "hull/common/result.h"

namespace hull::agent {

inline constexpr size_t kMaxFrame = 8u << 20;

Result<void> SendFrame(int fd, std::string_view payload);

// The next frame, or nullopt at a clean end of stream (the peer closed
// between frames, e.g. because it exec'd with the socket close-on-exec).
Result<std::optional<std::string>> ReceiveFrame(int fd);

}  // namespace hull::agent
