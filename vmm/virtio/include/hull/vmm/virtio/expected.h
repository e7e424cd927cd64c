#pragma once

// Expected<T, E>: a value or a typed error, for parsers of guest input whose
// callers branch on *which* error it was (a virtio-blk request that fails to
// parse still gets a status byte, and the metrics count each kind). A small
// stand-in for C++23's std::expected; errors that travel up to the VMM and
// into logs use hull::Result instead.

#include <type_traits>
#include <utility>
#include <variant>

#include "hull/common/check.h"

namespace hull::vmm::virtio {

template <typename T, typename E>
class [[nodiscard]] Expected {
  static_assert(std::is_enum_v<E>, "the error type is an enum of error kinds");
  static_assert(!std::is_same_v<T, E>);

 public:
  Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Expected(E error) : state_(std::in_place_index<1>, error) {}             // NOLINT

  bool ok() const noexcept { return state_.index() == 0; }

  // Precondition: ok().
  const T& value() const& {
    HULL_CHECK(ok());
    return *std::get_if<0>(&state_);
  }
  T&& value() && {
    HULL_CHECK(ok());
    return std::move(*std::get_if<0>(&state_));
  }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  // Precondition: !ok().
  E error() const {
    HULL_CHECK(!ok());
    return *std::get_if<1>(&state_);
  }

 private:
  std::variant<T, E> state_;
};

}  // namespace hull::vmm::virtio
