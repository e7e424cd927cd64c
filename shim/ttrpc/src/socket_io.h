#pragma once

// Blocking reads and writes on a connected stream socket (internal).

#include <cstddef>
#include <string_view>

#include "hull/common/result.h"

namespace hull::ttrpc::internal {

// Writes all of `bytes`, without SIGPIPE (a closed peer is EPIPE). A send
// timeout on the socket (SO_SNDTIMEO) surfaces as EAGAIN.
Result<void> SendAll(int fd, std::string_view bytes);

// Up to `size` bytes; 0 at end of stream.
Result<size_t> ReadSome(int fd, char* buffer, size_t size);

}  // namespace hull::ttrpc::internal
