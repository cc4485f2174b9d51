// Container lifecycle (OCI runtime spec "Lifecycle"): create, start, kill,
// delete, state, pause/resume, run. The state machine:
//
//   creating --create ok--> created --start--> running <--pause/resume--> paused
//       |                     |                  |
//       +--create fails: everything undone       +--init exits--> stopped --delete--> (gone)
//                             +--delete (kills the waiting init)--------------------> (gone)
//
// Every verb is a separate process (runc's model); the status is derived from
// the kernel each time (see state.hpp), never trusted from the file alone.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/init.hpp"
#include "runtime/state.hpp"

namespace berth::runtime {

class ConsoleProxy;

struct GlobalOptions {
  std::string root = "/run/berth-runtime";
  bool systemd_cgroup = false;
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;  // path of the caller's unix socket
  int console_fd = -1;         // internal: an already connected socket (run -t)
  bool no_pivot = false;
  bool no_new_keyring = false;
  unsigned preserve_fds = 0;
  // Called with the parsed config before anything is made (the CLI seals
  // its own binary here, see sealed_exe.hpp; it may re-exec the process).
  std::function<void(const oci::Spec&, bool start_now)> before_create;
};

// Creates the container; the init waits on the exec fifo when this returns.
// The returned process is our child (run waits for it; create just exits).
// With start_now (run), there is no exec fifo: the user process is exec'd
// before this returns (startContainer hooks included; poststart is the
// caller's).
InitProcess create_container(const GlobalOptions& g, const CreateOptions& o, bool start_now = false);
void start_container(const GlobalOptions& g, const std::string& id);
// Signals the init (or, with all, every process in the container's cgroup).
void kill_container(const GlobalOptions& g, const std::string& id, int sig, bool all);
void delete_container(const GlobalOptions& g, const std::string& id, bool force);
void pause_container(const GlobalOptions& g, const std::string& id);
void resume_container(const GlobalOptions& g, const std::string& id);
// New limits on the live cgroup of a created, running or paused container.
void update_container(const GlobalOptions& g, const std::string& id, const oci::LinuxResources& resources);
std::vector<pid_t> container_pids(const GlobalOptions& g, const std::string& id);

struct ContainerInfo {
  ContainerState state;
  Status status;
};
ContainerInfo inspect_container(const GlobalOptions& g, const std::string& id);
std::vector<ContainerInfo> list_containers(const GlobalOptions& g);

// create + start + wait + delete (unless detach). Returns the exit code of
// the container process (128+signal when killed by a signal).
int run_container(const GlobalOptions& g, const CreateOptions& o, bool detach, bool keep);

// --- helpers shared with exec ---------------------------------------------

// Blocks the signals we forward; call before the child exists so none is
// lost. The child resets its own mask.
void block_forwarded_signals();
// Waits for pid, forwarding signals to it and pumping the console proxy.
// Returns the wait status.
int wait_forwarding(pid_t pid, int pidfd, ConsoleProxy* proxy);
int exit_code_of(int wait_status);
// Writes a pid file atomically (what containerd reads).
void write_pid_file(const std::string& path, pid_t pid);
// Turns a signal name or number ("9", "KILL", "SIGKILL") into a number.
int parse_signal(const std::string& s);

}  // namespace berth::runtime
