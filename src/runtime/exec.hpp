// `exec`: a new process in a running (or created) container. The runtime
// enters the container's pid namespace for its child only, clones once, and
// the child joins every other namespace of the init (user first, through one
// setns(pidfd, ...)), after the parent moved it into the container's cgroup.
#pragma once

#include <string>

#include "oci/runtime_spec.hpp"
#include "runtime/container.hpp"

namespace berth::runtime {

struct ExecOptions {
  std::string id;
  oci::Process process;
  std::string console_socket;
  std::string pid_file;
  bool detach = false;
  unsigned preserve_fds = 0;
  bool ignore_paused = false;
};

// The container's own process config, the base for `exec ID cmd...` flags.
oci::Process container_process(const GlobalOptions& g, const std::string& id);

// Returns the process's exit code (0 when detached).
int exec_in_container(const GlobalOptions& g, const ExecOptions& o);

}  // namespace berth::runtime
