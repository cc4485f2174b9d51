// The container init: one clone3() of the (single-threaded) runtime with the
// CLONE_NEW* flags of the new namespaces, driven by its parent over a sync
// socket until it blocks on the exec fifo waiting for `start`.
//
// Parent                                  Child (container init)
//   clone3(CLONE_NEW* |
//          CLONE_INTO_CGROUP v2 dir) ---->  (waits for GO)
//   uid/gid maps
//   GO{host pid} ------------------------>  joins its v1 cgroups itself
//   oom_score_adj                           (join_self, see CgroupJoin: no
//                                           RCU grace period), setns joined
//                                           ns (user first), unshare cgroup
//                                           + time ns, hostname, setup_mounts
//                 <-------- HOOKS           (if prestart/createRuntime hooks)
//   prestart + createRuntime hooks
//   HOOKS_DONE -------------------------->  createContainer hooks,
//                                           finish_rootfs, sysctls, console,
//                                           resolve the executable
//                 <-------- READY | ERROR{kind, errno, message}
//   (create returns)                        blocks reading exec.fifo
//   `start` writes exec.fifo ------------>  startContainer hooks, process
//                                           settings, execve
//
// That is the fork-like clone with startContainer hooks (or a seccomp notify
// listener). Without them a created init applies the process settings,
// sends READY and execs berth-init-wait, which waits on the fifo and execs
// the process (init_wait.hpp); the parent reads READY, then the EOF of that
// exec or a late ERROR. When the parent has nothing to do between the clone
// and the init's execve (init_shares_memory: no user namespace, no
// prestart/createRuntime hooks, ...), the clone is CLONE_VM | CLONE_VFORK
// instead (clone_vfork.hpp): no GO, the cgroup made before the clone, and
// the parent asleep in clone3 until that execve, with every message
// already queued when it wakes.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "oci/runtime_spec.hpp"

namespace berth::runtime {

class Cgroup;
struct PreparedProcess;

struct InitOptions {
  std::string id;
  std::string bundle;
  const oci::Spec* spec = nullptr;
  bool no_pivot = false;
  int console_sock = -1;  // connected --console-socket, or -1
  int exec_fifo = -1;     // exec.fifo opened O_RDWR; -1: start at once (run)
  unsigned preserve_fds = 0;
  bool no_new_keyring = false;  // else the init gets a fresh session keyring (runc)
  Cgroup* cgroup = nullptr;
  // Instead of `cgroup`, for a cgroup without a v2 directory
  // (Cgroup::has_v2_dir): made by the parent right after the clone, while
  // the child makes its network namespace, so the two overlap on two CPUs.
  // The child joins it when the parent says go. Given the init's host pid
  // (the systemd driver's scope is made with it: cgroup_systemd.cpp).
  std::function<Cgroup*(pid_t)> make_cgroup;
  // The cgroup can only be made once the init exists (make_cgroup needs
  // its pid): the init then never shares the runtime's memory (a child
  // that does runs to its execve before the parent may act).
  bool cgroup_needs_pid = false;
  // Validated process settings and compiled seccomp filter (made before the
  // clone so a bad config fails `create`, and the child inherits the work).
  const PreparedProcess* prepared = nullptr;
  // Puts the init's host pid on record (the state file), as soon as the init
  // exists and before it can outlive the runtime: by the parent before GO,
  // or, sharing memory, by the child itself (the parent sleeps until its
  // execve). Runs after the cgroup is made.
  std::function<void(pid_t)> record_init;
  // State JSON for hooks, given the init's host pid and the status to report.
  std::function<std::string(pid_t, const char* status)> state_for_hooks;
  // Runs prestart + createRuntime hooks in the runtime (parent) namespaces.
  std::function<void(pid_t)> create_runtime_hooks;
};

struct InitProcess {
  pid_t pid = 0;
  UniqueFd pidfd;
};

// Whether the init shares the runtime's memory until it execs
// (clone_vfork.hpp, docs/runtime.md): when the parent has nothing to do
// between the clone and that exec, and the kernel lets a process whose
// memory is not its own take every step. A `create` init then waits for
// `start` in berth-init-wait (init_wait.hpp).
bool init_shares_memory(const oci::Spec& spec, bool start_now);
// Whether a `create` init waits for `start` in berth-init-wait rather than
// in the runtime's code (init_wait.hpp), sharing memory or not: unless it
// must run startContainer hooks or hand on a seccomp notify fd.
bool init_waits_in_helper(const oci::Spec& spec, bool start_now);

// Clones the init and drives it to the "created" point (or, without an exec
// fifo, on to the execve of the user process). On failure the child
// is killed and reaped and the error carries the child's own cause.
InitProcess spawn_init(const InitOptions& opts);

// --- shared with exec.cpp --------------------------------------------------

// CLONE_NEW* flag for an OCI namespace type (0 for unknown).
int namespace_flag(const std::string& type);
// /proc/<pid>/ns/<name> name for an OCI namespace type.
const char* namespace_proc_name(const std::string& type);

// Sync messages between a runtime parent and a child it cloned.
// IdmapTrees{count, "i,j,"} precedes that many send_fd() messages, one
// prepared idmapped tree per spec.mounts index.
enum class SyncType : uint32_t { Go = 1, Hooks, HooksDone, Ready, Error, IdmapTrees };
void sync_send(int sock, SyncType type, int64_t value = 0, const std::string& text = {}, int err = 0,
               int kind = 0);
struct SyncMsg {
  SyncType type{};
  int64_t value = 0;
  int err = 0;
  int kind = 0;
  std::string text;
};
// False on EOF (the peer died or closed).
bool sync_recv(int sock, SyncMsg& msg);
// In a child: reports the exception to the parent and exits.
[[noreturn]] void child_fail(int sock, const std::exception_ptr& e);

// After `start` the init has no one on its sync socket: a failure before
// the process's execve goes into the exec fifo instead, one write of
// "<kind> <errno> <message>" (kind -1: the errno's; berth-init-wait writes
// that), where `start` -- which holds the fifo open for writing, so the
// pipe keeps it -- reads it once the init has closed its end.
void report_start_error(int exec_fifo, const Error& e);
// In `start`, once the init closed the fifo: throws what it left there, if anything.
void throw_start_error(int exec_fifo_writer);

// Hands a seccomp notify fd to linux.seccomp.listenerPath with the
// container process state (the OCI "ContainerProcessState" message).
void send_seccomp_listener(const oci::Spec& spec, int listener_fd, pid_t pid, const std::string& state_json);

// clone3 wrapper (fork-like: no CLONE_VM, same stack). Returns 0 in the child.
// cgroup_fd >= 0: a cgroup v2 dir the child starts in (CLONE_INTO_CGROUP).
pid_t clone3_fork(uint64_t flags, int* pidfd, int cgroup_fd = -1);

// Waits for the child, retrying on EINTR; returns the raw wait status.
int wait_child(pid_t pid);
std::string describe_wait_status(int status);

}  // namespace berth::runtime
