// Helpers shared by the gtest binaries.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#define BERTH_REQUIRE_ROOT()                                  \
  do {                                                        \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";       \
  } while (0)

namespace berth::testing {

// A fresh directory under /tmp (or $TMPDIR) removed when the object dies.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/berth-test-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    if (!p) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::string cmd = "umount -R -l " + path_ + "/* 2>/dev/null; rm -rf " + path_;
    [[maybe_unused]] int rc = std::system(cmd.c_str());
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline std::string build_dir() { return BERTH_BUILD_DIR; }
inline std::string source_dir() { return BERTH_SOURCE_DIR; }
// The unpacked bundled base image made by scripts/make-base-image.
inline std::string busybox_rootfs() { return build_dir() + "/images/busybox-rootfs"; }

}  // namespace berth::testing
