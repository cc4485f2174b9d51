// The one error type of the tree. See docs/architecture.md, "Errors".
//
// An Error carries: a kind (maps one-to-one to CLI exit codes and HTTP
// statuses at the API edge), the errno of the failing syscall if any, and a
// message that names what was being done to which object. Each layer that
// catches and rethrows adds its context in front with wrap(), so the user sees
// one line from the outermost action down to the cause:
//   create container web: mount overlay on /var/lib/berth/.../merged: EINVAL
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace berth {

enum class ErrorKind {
  Internal,            // a bug or an unexpected kernel answer
  InvalidArgument,     // the user's input is wrong (flag, config, file format)
  NotFound,            // a named object does not exist
  AlreadyExists,       // a name or id is taken
  FailedPrecondition,  // the object is in the wrong state for this
  Unsupported,         // the host or Berth lacks a feature the input asks for
  Corrupt,             // stored or received data fails verification
};

class Error : public std::exception {
 public:
  explicit Error(std::string message, ErrorKind kind = ErrorKind::Internal,
                 int errno_value = 0);

  ErrorKind kind() const noexcept { return kind_; }
  int errno_value() const noexcept { return errno_; }
  const std::string& message() const noexcept { return message_; }
  const char* what() const noexcept override { return full_.c_str(); }

  // Adds "context: " in front of the message; returns *this to rethrow.
  Error& wrap(std::string_view context);

 private:
  void render();
  std::string message_;
  ErrorKind kind_;
  int errno_;
  std::string full_;
};

// Throws Error{what, Internal (or NotFound/AlreadyExists/... by errno), errno}.
[[noreturn]] void throw_errno(std::string_view what);
[[noreturn]] void throw_errno(std::string_view what, int errno_value);

// For syscalls that return -1 and set errno: returns ret when ret >= 0.
inline long check(long ret, std::string_view what) {
  if (ret < 0) throw_errno(what);
  return ret;
}

[[noreturn]] inline void fail(std::string message,
                              ErrorKind kind = ErrorKind::InvalidArgument) {
  throw Error(std::move(message), kind);
}

// Process exit code for an error kind (CLI convention, docs/architecture.md).
int exit_code_for(ErrorKind kind) noexcept;
const char* kind_name(ErrorKind kind) noexcept;

}  // namespace berth
