#pragma once

// The host side of the guest's console (--serial): where the serial port's
// output goes and where its input comes from.
//
//   stdout     output to hull-vmm's stdout; input from its stdin (when stdin
//              can be polled: a tty, pipe or socket; not /dev/null or a file)
//   file:PATH  output appended to PATH (created 0600); no input
//   unix:PATH  a listening socket (0600) serving one client at a time: its
//              bytes are the console's input, the console's output goes to
//              it. Further clients wait in the backlog until it leaves.
//              Output while no client is connected is kept in a ring buffer
//              (kRingBytes, the newest bytes), which a client gets first on
//              connecting: the boot log's tail, not the whole of it.
//   none       output discarded (counted as dropped); no input
//
// Output never blocks the vCPU that writes it: a full pipe, tty or socket
// drops the bytes (the serial device counts them). For stdout this uses a
// file description of its own (O_NONBLOCK through /proc/self/fd/1), so the
// parent's stdout is left blocking. Writing to a closed pipe raises SIGPIPE:
// hull-vmm ignores SIGPIPE (the lead's main() sets SIG_IGN); sockets use
// MSG_NOSIGNAL regardless. Putting a terminal in raw mode is main()'s job.
//
// Threading: Write() runs on vCPU threads (under the serial device's lock);
// Attach() and the input callbacks on the event loop's thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>

#include "hull/common/result.h"
#include "hull/vmm/core/config.h"
#include "hull/vmm/core/event_loop.h"
#include "hull/vmm/devices/legacy/serial_sink.h"

namespace hull::vmm {

class SerialBackend : public SerialSink {
 public:
  using InputFn = std::function<void(std::span<const uint8_t>)>;

  // Output kept for a unix: console while no client is connected.
  static constexpr size_t kRingBytes = 16 * 1024;

  // Opens what `config` names; errors name the path.
  static Result<std::unique_ptr<SerialBackend>> Open(const SerialConfig& config);

  // Watches the console's input sources in `loop` (which must outlive the
  // backend; call on its thread or before it runs); input bytes go to
  // `on_input`, typically Serial::EnqueueInput. At most once.
  virtual Result<void> Attach(EventLoop& loop, InputFn on_input) = 0;

  // Counters of the backend itself (connections, ring-buffer overwrites).
  virtual nlohmann::json MetricsJson() const { return nlohmann::json::object(); }
};

}  // namespace hull::vmm
