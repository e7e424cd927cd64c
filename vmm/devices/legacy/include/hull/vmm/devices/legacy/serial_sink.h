#pragma once

// Where the serial port's transmitted bytes go on the host: stdout, a file, a
// Unix socket's client (hull/vmm/core/serial_backend.h opens them).

#include <cstddef>
#include <cstdint>
#include <span>

namespace hull::vmm {

class SerialSink {
 public:
  virtual ~SerialSink() = default;

  // Takes what it can of `bytes` without blocking and returns how many it
  // took; the caller counts the rest as dropped. Called from vCPU threads,
  // so it must never wait on a slow reader.
  virtual size_t Write(std::span<const uint8_t> bytes) = 0;
};

}  // namespace hull::vmm
