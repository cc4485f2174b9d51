// A child that shares the runtime's memory until it execs (CLONE_VM |
// CLONE_VFORK): the container init (init.cpp: init_shares_memory) and
// `exec`'s child.
//
// A fork-like clone gives the container init a copy-on-write copy of the
// runtime's address space: the kernel copies the page tables, every page the
// child writes before its execve is copied again, and at execve the copy is
// torn down. On a paravirtualised guest (PVM) each of those faults costs
// ~10 us and the copy ~0.6 ms: together ~1.6-1.9 ms of a 9-11 ms `run` (A/B
// in docs/performance.md). Sharing the memory, as posix_spawn does, costs
// none of it. Two kernel rules limit it: setns into a time namespace
// (EUSERS) or a user namespace the parent must map first needs a process
// whose memory is its own.
//
// The rule that makes sharing safe: the parent does not run until the child
// has exec'd or exited (CLONE_VFORK suspends it in clone3), so the two never
// touch the heap at the same time. The child runs on a stack of its own and
// must end in execve or _exit (never exit(): that would run our static
// destructors in the shared memory). What the child changes stays changed
// for the parent: it must only change memory that is its own (its stack,
// objects it allocates) and leave the heap consistent, which it does by
// construction, since it is single-threaded and finishes every call before
// it execs. Kernel objects are its own: fds, signal handlers, credentials,
// namespaces and rlimits are per process without CLONE_FILES, CLONE_SIGHAND,
// CLONE_THREAD, CLONE_FS. Two per-mm settings are shared: the dumpable flag
// (a non-dumpable init leaves the runtime non-dumpable too, harmless for a
// root process) and the memory cgroup charge (the child's page faults are
// charged to the runtime's cgroup until its execve, not the container's).
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace berth::runtime {

// Whether this build can start such a child (the trampoline is x86-64 only).
bool clone_vfork_supported();

struct VforkClone {
  uint64_t flags = 0;  // CLONE_NEW* flags; CLONE_VM | CLONE_VFORK | CLONE_PIDFD are added
  int* pidfd = nullptr;
  int cgroup_fd = -1;  // a cgroup v2 dir to start in (CLONE_INTO_CGROUP), or -1
  // Receives the child's pid (in our pid namespace) before the child runs
  // (CLONE_PARENT_SETTID): the child itself reads it from here, since in a
  // new pid namespace getpid() says 1.
  pid_t* child_pid = nullptr;
};

// Runs fn(arg) in the new child on its own stack; fn must not return (it
// execs or _exits). Returns the child's pid once it has exec'd or exited,
// i.e. once the memory is ours alone again. Throws Error if clone3 fails.
pid_t clone_vfork(const VforkClone& how, void (*fn)(void*), void* arg);

}  // namespace berth::runtime
