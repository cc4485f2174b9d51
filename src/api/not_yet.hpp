// Endpoints whose features land on other branches answer docker's error
// shape with status 501 and say so, until they are wired.
#pragma once

#include "api/http.hpp"

namespace berth::api {

[[noreturn]] inline void not_implemented_yet(const std::string& what) {
  throw Error("not implemented yet in berth: " + what, ErrorKind::Unsupported);
}

}  // namespace berth::api
