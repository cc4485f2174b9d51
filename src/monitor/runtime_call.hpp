// The monitor's calls of the runc-CLI runtime: `run --detach` with the
// container's stdio, `delete --force`, and `exec` for health checks. Errors
// come back from the runtime's --log (JSON lines, as runc, crun and
// berth-runtime write them), not from its stderr, which is the container's.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/fd.hpp"
#include "monitor/options.hpp"

namespace berth::monitor {

struct ContainerStdio {
  // The monitor's ends: in (write), out/err (read); pty after the start.
  UniqueFd in, out, err, pty;
  // The container's ends (fds 0-2 of the runtime), or a console socket.
  UniqueFd child_in, child_out, child_err;
  bool tty = false;
};

ContainerStdio make_container_stdio(bool tty, bool stdin_open);

struct RuntimeResult {
  bool ok = false;
  int pid = 0;        // the container's init
  int exit_code = 0;  // docker's: 125 start failed, 126 not executable, 127 not found
  std::string error;
};

// `RUNTIME run --detach --bundle B --pid-file pid ID` in the state dir (the
// current directory). With a tty, io.pty is the master the runtime handed
// over on the console socket.
RuntimeResult runtime_run_detached(const Options& o, ContainerStdio& io);
// `RUNTIME delete --force ID`; errors are ignored (the container is gone).
void runtime_delete(const Options& o);
// Starts `RUNTIME exec ID CMD...` with stdout and stderr on `out_fd`.
pid_t runtime_exec(const Options& o, const std::vector<std::string>& cmd, int out_fd);

// docker's exit code for a start error message: 127 when the executable
// is not found, 126 when it cannot be run, 125 otherwise.
int start_error_code(const std::string& message);
// The last "msg" of a runtime's JSON log text ("" if none).
std::string last_log_message(const std::string& log_text);

}  // namespace berth::monitor
