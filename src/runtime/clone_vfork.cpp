#include "runtime/clone_vfork.hpp"

#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cstring>

#include "common/error.hpp"

namespace berth::runtime {

namespace {

// The child's stack: reserved, not committed (only the pages it touches are
// ever faulted in), with a guard page below it so an overflow faults
// instead of writing over the runtime's memory.
constexpr size_t kStackSize = 8 << 20;
constexpr size_t kGuardSize = 4096;

class ChildStack {
 public:
  ChildStack() {
    base_ = ::mmap(nullptr, kGuardSize + kStackSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base_ == MAP_FAILED) throw_errno("clone the container init: map its stack");
    if (::mprotect(static_cast<char*>(base_) + kGuardSize, kStackSize, PROT_READ | PROT_WRITE) < 0) {
      int err = errno;
      ::munmap(base_, kGuardSize + kStackSize);
      errno = err;
      throw_errno("clone the container init: map its stack");
    }
  }
  ~ChildStack() { ::munmap(base_, kGuardSize + kStackSize); }
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  uint64_t low() const { return reinterpret_cast<uint64_t>(base_) + kGuardSize; }

 private:
  void* base_;
};

#if defined(__x86_64__)
// clone3 with a stack: the child resumes after the syscall instruction with
// rax = 0 and rsp = stack + stack_size, with no frame to return to, so it
// cannot go back through a C function; it calls fn(arg) from here and exits
// if fn ever returns. fn and arg travel in r12/r13, which the syscall
// preserves. (glibc's own clone3 wrapper is internal; clone() lacks
// CLONE_INTO_CGROUP.)
long clone3_with_fn(struct clone_args* args, void (*fn)(void*), void* arg) {
  long ret;
  register long r12 asm("r12") = reinterpret_cast<long>(fn);
  register long r13 asm("r13") = reinterpret_cast<long>(arg);
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"  // outermost frame for unwinders
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov $127, %%edi\n\t"
      "mov %[exit_nr], %%eax\n\t"
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(SYS_clone3), "D"(args), "S"(sizeof *args), "r"(r12), "r"(r13), [exit_nr] "i"(SYS_exit)
      : "rcx", "r11", "memory");
  return ret;
}
#endif

}  // namespace

bool clone_vfork_supported() {
#if defined(__x86_64__)
  return true;
#else
  return false;
#endif
}

pid_t clone_vfork(const VforkClone& how, void (*fn)(void*), void* arg) {
#if defined(__x86_64__)
  ChildStack stack;
  struct clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = how.flags | CLONE_VM | CLONE_VFORK | (how.pidfd ? CLONE_PIDFD : 0) |
               (how.child_pid ? CLONE_PARENT_SETTID : 0) | (how.cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uint64_t>(how.pidfd);
  args.parent_tid = reinterpret_cast<uint64_t>(how.child_pid);
  if (how.cgroup_fd >= 0) args.cgroup = static_cast<uint64_t>(how.cgroup_fd);
  args.exit_signal = SIGCHLD;
  args.stack = stack.low();
  args.stack_size = kStackSize;
  long r = clone3_with_fn(&args, fn, arg);
  if (r < 0) {
    errno = static_cast<int>(-r);
    throw_errno("clone3");
  }
  return static_cast<pid_t>(r);
#else
  (void)how, (void)fn, (void)arg;
  fail("clone_vfork: not supported on this architecture", ErrorKind::Unsupported);
#endif
}

}  // namespace berth::runtime
