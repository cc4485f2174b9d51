// How the init of a `create` waits for `start` (init_waits_in_helper():
// unless it must run startContainer hooks or hand on a seccomp notify fd).
//
// An init that shared the runtime's memory (clone_vfork.hpp) cannot wait in
// the runtime's code: the memory is the runtime's, and `create` goes on and
// exits while the init waits. One cloned fork-like could, but would be the
// runtime binary in the container's pid 1 while it waits. So once
// its set-up is done and its process settings (rlimits, user, capabilities,
// no_new_privs, cwd, and a seccomp filter that must be loaded with
// CAP_SYS_ADMIN) are applied -- where runc's init applies them too, before
// its fifo -- it execs berth-init-wait (init_wait/init_wait.c): a program of
// a few pages with no libc, from a sealed memfd. That exec gives the init
// memory of its own, wakes `create`, and leaves no runtime binary in the
// container's pid 1 for anyone to reach (so `create` needs no sealed copy
// of the runtime either). berth-init-wait reads the fifo byte `start`
// writes, loads the noNewPrivileges seccomp filter (the last step before
// execve, as runc does) and execs the process.
//
// Capabilities survive the extra exec unchanged: a non-root process keeps
// only its ambient set across any exec, root gets its bounding set back
// (plus inheritable and ambient) at every exec, so two execs end where one
// would.
#pragma once

#include <string>

#include "common/fd.hpp"
#include "oci/runtime_spec.hpp"

namespace berth::runtime {

class SeccompFilter;

// A sealed, executable memfd holding berth-init-wait (made before the clone).
UniqueFd init_wait_program();
// A sealed memfd holding what berth-init-wait loads: u32 flags, u32
// instruction count, the classic-BPF program; at offset 0. For a filter
// without a notify listener (the listener fd could not be handed on).
UniqueFd init_wait_seccomp(const SeccompFilter& filter);

// In the init, last: execs berth-init-wait with the exec fifo, the seccomp
// memfd (or -1) and the process's resolved path, args and env. Both fds
// are made inheritable. Returns only by throwing.
[[noreturn]] void exec_init_wait(int program, int exec_fifo, int seccomp, const std::string& exe,
                                 const oci::Process& process);

}  // namespace berth::runtime
