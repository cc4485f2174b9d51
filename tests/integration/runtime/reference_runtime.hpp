// Runs a test against berth-runtime and, as a reference, against runc
// where it is installed (TEST_P over kRuntimesUnderTest). Where runc does
// something else, the test says so next to its expectation, and
// docs/runtime.md's field table records it.
#pragma once

#include <unistd.h>

#include <string>

#include "runtime_checks.hpp"

namespace berth::testing {

inline const char* const kRuntimesUnderTest[] = {"berth", "runc"};
inline constexpr const char* kRuncBinary = "/usr/sbin/runc";

// A Runtime (private --root) driving `name`; skips the test when runc is
// missing.
#define BERTH_USE_RUNTIME(rt, name)                                                    \
  do {                                                                                 \
    if (std::string(name) == "runc") {                                                 \
      if (::access(::berth::testing::kRuncBinary, X_OK) != 0)                          \
        GTEST_SKIP() << "runc not installed (the reference run)";                      \
      (rt).binary = ::berth::testing::kRuncBinary;                                     \
    }                                                                                  \
  } while (0)

inline bool is_runc(const Runtime& rt) { return rt.binary == kRuncBinary; }

// Counts the (non-overlapping) occurrences of needle in s.
inline int occurrences(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + needle.size())) ++n;
  return n;
}

}  // namespace berth::testing
