// Starting helper programs (a runtime, tar, cp) with posix_spawn: a vfork,
// not a copy of the caller's memory, with exactly the fds asked for. Signal
// dispositions go back to their defaults and the mask is emptied, so a
// caller that blocks signals (a monitor on signalfd) does not pass that on.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace berth {

struct SpawnFds {
  SpawnFds(int in_fd = -1, int out_fd = -1, int err_fd = -1, int fd_3 = -1)
      : in(in_fd), out(out_fd), err(err_fd), fd3(fd_3) {}
  int in, out, err;                 // -1: /dev/null
  int fd3;                          // given as fd 3 when >= 0
  std::vector<int> more_fds;        // given as fds 4, 5, ... (after fd3, which must be set)
  bool search_path = false;         // argv[0] looked up in PATH
  bool new_session = false;
  std::string executable;           // run this file, argv[0] being only its name
};

// Starts argv; throws berth::Error naming argv[0] if it cannot.
pid_t spawn_process(const std::vector<std::string>& argv, const SpawnFds& fds = {});
// Waits for `pid`: its exit code, 128+N after signal N, -1 if not a child.
int wait_process(pid_t pid);
// spawn_process + wait_process.
int run_process(const std::vector<std::string>& argv, const SpawnFds& fds = {});

}  // namespace berth
