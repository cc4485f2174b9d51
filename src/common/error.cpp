#include "common/error.hpp"

#include <cerrno>
#include <cstring>

namespace berth {

Error::Error(std::string message, ErrorKind kind, int errno_value)
    : message_(std::move(message)), kind_(kind), errno_(errno_value) {
  render();
}

Error& Error::wrap(std::string_view context) {
  message_.insert(0, std::string(context) + ": ");
  render();
  return *this;
}

void Error::render() {
  full_ = message_;
  if (errno_ != 0) {
    full_ += ": ";
    full_ += strerrorname_np(errno_) ? strerrorname_np(errno_) : "errno";
    full_ += " (";
    full_ += std::strerror(errno_);
    full_ += ")";
  }
}

static ErrorKind kind_for_errno(int e) {
  switch (e) {
    case ENOENT: case ESRCH: return ErrorKind::NotFound;
    case EEXIST: return ErrorKind::AlreadyExists;
    case EINVAL: return ErrorKind::InvalidArgument;
    case ENOSYS: case EOPNOTSUPP: return ErrorKind::Unsupported;
    default: return ErrorKind::Internal;
  }
}

void throw_errno(std::string_view what, int errno_value) {
  throw Error(std::string(what), kind_for_errno(errno_value), errno_value);
}

void throw_errno(std::string_view what) { throw_errno(what, errno); }

int exit_code_for(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidArgument: return 2;
    case ErrorKind::NotFound: return 3;
    case ErrorKind::AlreadyExists: return 4;
    case ErrorKind::FailedPrecondition: return 5;
    case ErrorKind::Unsupported: return 6;
    case ErrorKind::Corrupt: return 7;
    case ErrorKind::Internal: return 1;
  }
  return 1;
}

const char* kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidArgument: return "invalid argument";
    case ErrorKind::NotFound: return "not found";
    case ErrorKind::AlreadyExists: return "already exists";
    case ErrorKind::FailedPrecondition: return "failed precondition";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::Corrupt: return "corrupt";
    case ErrorKind::Internal: return "internal";
  }
  return "internal";
}

}  // namespace berth
