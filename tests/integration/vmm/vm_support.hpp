// Runs `berth vm ...` as a user would and captures its output, for the
// micro-VM integration tests. Guests are the tiny ones from tests/guests/.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace berth::testing {

struct CmdResult {
  int status = -1;  // exit code, or 128+signal
  std::string out, err;
};

inline std::string guest(const std::string& name) { return build_dir() + "/guests/" + name + ".bzimage"; }
inline std::string berth_bin() { return build_dir() + "/bin/berth"; }

// argv[0] is the program; stdin gets `input`; killed after timeout_s.
inline CmdResult run_cmd(std::vector<std::string> argv, const std::string& input = "", int timeout_s = 30) {
  RunResult r = run_command(argv, input, timeout_s);
  return CmdResult{r.exit_code, std::move(r.out), std::move(r.err)};
}

// `berth --root R --state S vm <args...>`
class VmEnv {
 public:
  CmdResult vm(std::vector<std::string> args, const std::string& input = "", int timeout_s = 30) {
    std::vector<std::string> argv = {berth_bin(), "--root", root(), "--state", state(), "vm"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cmd(argv, input, timeout_s);
  }
  std::string root() const { return dir_ / "root"; }
  std::string state() const { return dir_ / "state"; }
  std::string path(const std::string& rel) const { return dir_ / rel; }

 private:
  TempDir dir_;
};

inline bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// FNV-1a, as the tiny guests' fnv1a() prints it.
inline uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

inline std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

#define BERTH_REQUIRE_KVM()                                                       \
  do {                                                                            \
    BERTH_REQUIRE_ROOT();                                                         \
    if (::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/kvm";    \
  } while (0)

}  // namespace berth::testing
