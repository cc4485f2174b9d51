#include "build/temp_context.hpp"

#include <cstdio>
#include <random>

#include "common/fs.hpp"

namespace berth::build {

TempContext::TempContext(const std::string& root, const char* prefix) {
  std::random_device rd;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-%08x%08x", prefix, rd(), rd());
  dir = root + "/build-tmp/" + buf;
  fs::mkdir_p(dir, 0700);
}

TempContext::~TempContext() {
  try {
    fs::remove_all(dir);
  } catch (...) {
  }
}

}  // namespace berth::build
