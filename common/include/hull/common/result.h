#pragma once

// Status-or-value without exceptions.
//
//   Result<UniqueFd> OpenDevice(std::string_view path);
//   Result<void> Start() {
//     HULL_ASSIGN_OR_RETURN(UniqueFd fd, OpenDevice("/dev/kvm"));
//     HULL_TRY(Configure(fd).WithContext("configuring /dev/kvm"));
//     return {};
//   }
//
// An Error carries an errno-style code (for programs deciding what to do) and
// a message (for people), to which each caller may prepend its context, so
// the text reads from the outermost operation inward:
// "starting VM: open /dev/kvm: No such file or directory [ENOENT]".

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "hull/common/check.h"

namespace hull {

template <typename T>
class Result;

class [[nodiscard]] Error {
 public:
  // `code` is an errno value (EINVAL, EFAULT, ...); never 0.
  Error(int code, std::string message);

  // "<what>: <strerror(errnum)>", e.g. FromErrno(errno, "open /dev/kvm").
  static Error FromErrno(int errnum, std::string_view what);

  // Prepends "<context>: " to the message; the code is kept.
  Error WithContext(std::string_view context) &&;
  Error WithContext(std::string_view context) const&;

  int code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  // The message followed by the errno name, e.g. "... [ENOENT]".
  std::string ToString() const;

 private:
  int code_;
  std::string message_;
};

namespace internal {
// What converts implicitly into a Result<T>'s value (but is no Result or Error).
template <typename U, typename T>
concept ImplicitResultValue =
    std::is_convertible_v<U&&, T> && !std::is_same_v<std::remove_cvref_t<U>, Result<T>> &&
    !std::is_same_v<std::remove_cvref_t<U>, Error>;
}  // namespace internal

template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported; use a pointer");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "Result<Error> is ambiguous");

 public:
  using value_type = T;

  // Implicit, so that `return value;` and `return Error(...);` both work.
  template <internal::ImplicitResultValue<T> U = T>
  Result(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}      // NOLINT

  bool ok() const noexcept { return state_.index() == 0; }

  // Precondition: ok(). Reading the value of a failed Result is a bug.
  T& value() & { return *ValuePtr(); }
  const T& value() const& { return *ValuePtr(); }
  T&& value() && { return std::move(*ValuePtr()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return ValuePtr(); }
  const T* operator->() const { return ValuePtr(); }

  // Precondition: !ok().
  const Error& error() const& { return *ErrorPtr(); }
  Error&& error() && { return std::move(*ErrorPtr()); }

  // Adds context to a failure; a success passes through unchanged.
  Result WithContext(std::string_view context) && {
    if (ok()) return std::move(*this);
    return std::move(*ErrorPtr()).WithContext(context);
  }

 private:
  // A null get_if means the other alternative is held: a caller bug.
  T* ValuePtr() {
    T* value = std::get_if<0>(&state_);
    HULL_CHECK(value != nullptr);
    return value;
  }
  const T* ValuePtr() const {
    const T* value = std::get_if<0>(&state_);
    HULL_CHECK(value != nullptr);
    return value;
  }
  Error* ErrorPtr() {
    Error* error = std::get_if<1>(&state_);
    HULL_CHECK(error != nullptr);
    return error;
  }
  const Error* ErrorPtr() const {
    const Error* error = std::get_if<1>(&state_);
    HULL_CHECK(error != nullptr);
    return error;
  }

  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;

  Result() = default;                                // success
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return !error_.has_value(); }
  void value() const { HULL_CHECK(ok()); }

  const Error& error() const& {
    HULL_CHECK(!ok());
    return *error_;
  }
  Error&& error() && {
    HULL_CHECK(!ok());
    return std::move(*error_);
  }

  Result WithContext(std::string_view context) && {
    if (ok()) return {};
    return std::move(*error_).WithContext(context);
  }

 private:
  std::optional<Error> error_;
};

// Reads better than `return {};` where a success is not obvious.
inline Result<void> Ok() { return {}; }

}  // namespace hull

#define HULL_INTERNAL_CONCAT_INNER(a, b) a##b
#define HULL_INTERNAL_CONCAT(a, b) HULL_INTERNAL_CONCAT_INNER(a, b)

// Evaluates `expr` (a Result of any type) and returns its Error from the
// enclosing function when it failed; a value is discarded.
#define HULL_TRY(expr)                            \
  do {                                            \
    auto hull_try_result_ = (expr);               \
    if (!hull_try_result_.ok()) [[unlikely]] {    \
      return std::move(hull_try_result_).error(); \
    }                                             \
  } while (false)

// `lhs = value of expr`, or returns its Error. `lhs` may declare a variable
// (`HULL_ASSIGN_OR_RETURN(auto fd, Open(path));`); it must not contain an
// unparenthesised comma.
#define HULL_ASSIGN_OR_RETURN(lhs, expr) \
  HULL_INTERNAL_ASSIGN_OR_RETURN(HULL_INTERNAL_CONCAT(hull_assign_result_, __LINE__), lhs, expr)

#define HULL_INTERNAL_ASSIGN_OR_RETURN(result, lhs, expr) \
  auto result = (expr);                                   \
  if (!result.ok()) [[unlikely]] {                        \
    return std::move(result).error();                     \
  }                                                       \
  lhs = std::move(result).value()
