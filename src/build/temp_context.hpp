// A build context unpacked from a stream (the CLI's stdin, an API request's
// body) lives in a private dir under <root>/build-tmp/ for one build and is
// removed when the build ends, whatever happened.
#pragma once

#include <string>

namespace berth::build {

struct TempContext {
  std::string dir;
  // prefix names the caller in the dir's name ("ctx", "api-ctx").
  TempContext(const std::string& root, const char* prefix);
  ~TempContext();
  TempContext(const TempContext&) = delete;
  TempContext& operator=(const TempContext&) = delete;
};

}  // namespace berth::build
