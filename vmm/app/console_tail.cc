#include "console_tail.h"

#include <algorithm>

namespace hull::vmm {

void ConsoleTail::Append(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mu_);
  for (uint8_t b : bytes) {
    ring_[next_] = static_cast<char>(b);
    next_ = (next_ + 1) % ring_.size();
    if (next_ == 0) wrapped_ = true;
  }
}

std::string ConsoleTail::Contents() const {
  if (!wrapped_) return std::string(ring_.begin(), ring_.begin() + static_cast<long>(next_));
  std::string out(ring_.begin() + static_cast<long>(next_), ring_.end());
  out.append(ring_.begin(), ring_.begin() + static_cast<long>(next_));
  return out;
}

std::string ConsoleTail::LastLines(size_t max_lines) const {
  std::string text;
  {
    std::lock_guard lock(mu_);
    text = Contents();
  }
  // Keep printable text and newlines; the guest controls these bytes.
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == '\n' || (c >= 0x20 && c < 0x7f)) clean.push_back(c);
  }
  while (!clean.empty() && clean.back() == '\n') clean.pop_back();
  size_t start = clean.size();
  for (size_t lines = 0; start > 0 && lines < max_lines; --start) {
    if (clean[start - 1] == '\n' && ++lines == max_lines) break;
  }
  return clean.substr(start);
}

bool ConsoleTail::SawKernelPanic() const {
  std::lock_guard lock(mu_);
  return Contents().find("Kernel panic - not syncing") != std::string::npos;
}

}  // namespace hull::vmm

namespace hull::vmm {

std::string ConsoleTail::PanicLine() const {
  std::string text;
  {
    std::lock_guard lock(mu_);
    text = Contents();
  }
  const size_t at = text.rfind("Kernel panic - not syncing");
  if (at == std::string::npos) return {};
  size_t end = text.find('\n', at);
  if (end == std::string::npos) end = text.size();
  std::string line;
  for (char c : text.substr(at, end - at)) {
    if (c >= 0x20 && c < 0x7f) line.push_back(c);
  }
  return line;
}

}  // namespace hull::vmm
