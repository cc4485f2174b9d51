#include "runtime/default_seccomp.hpp"

#include <errno.h>

#include <algorithm>
#include <initializer_list>

namespace berth::runtime {
namespace {

// Syscalls every container may make (the allow-list of Docker's default
// profile). Names unknown to the running kernel/libseccomp are skipped when
// the filter is built.
constexpr const char* kAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
    "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
    "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
    "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
    "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
    "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
    "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
    "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
    "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack",
    "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
    "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
    "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
    "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat",
    "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe",
    "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
    "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
    "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
    "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
    "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat",
    "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
    "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
    "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo",
    "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
    // Harmless since Linux 4.8 (ptrace can no longer bypass seccomp).
    "process_vm_readv", "process_vm_writev", "ptrace",
};

struct CapRule {
  const char* cap;
  std::initializer_list<const char*> names;
};

// Allowed only with the capability that makes them useful (else EPERM).
const CapRule kCapRules[] = {
    {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
    {"CAP_SYS_ADMIN",
     {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
      "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
      "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
      "umount2", "unshare"}},
    {"CAP_SYS_BOOT", {"reboot"}},
    {"CAP_SYS_CHROOT", {"chroot"}},
    {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module"}},
    {"CAP_SYS_PACCT", {"acct"}},
    {"CAP_SYS_PTRACE",
     {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
    {"CAP_SYS_TIME", {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
    {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {"CAP_SYSLOG", {"syslog"}},
    {"CAP_BPF", {"bpf"}},
    {"CAP_PERFMON", {"perf_event_open"}},
};

// clone(2) namespace flags: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|
// NEWPID|NEWNET (0x7E020000). Without CAP_SYS_ADMIN clone is allowed only
// when none of them is set.
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;

oci::SeccompSyscall rule(std::vector<std::string> names, const char* action) {
  oci::SeccompSyscall s;
  s.names = std::move(names);
  s.action = action;
  return s;
}

oci::SeccompSyscall rule_with_arg(const char* name, uint32_t index, uint64_t value,
                                  uint64_t value_two, const char* op) {
  oci::SeccompSyscall s = rule({name}, "SCMP_ACT_ALLOW");
  s.args.push_back(oci::SeccompArg{index, value, value_two, op});
  return s;
}

}  // namespace

oci::Seccomp default_seccomp_profile(const std::vector<std::string>& bounding) {
  auto has = [&](const char* cap) {
    return std::find(bounding.begin(), bounding.end(), cap) != bounding.end();
  };
  oci::Seccomp p;
  p.default_action = "SCMP_ACT_ERRNO";
  p.default_errno_ret = EPERM;
#if defined(__x86_64__)
  p.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  p.architectures = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#elif defined(__s390x__)
  p.architectures = {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"};
#elif defined(__riscv) && __riscv_xlen == 64
  p.architectures = {"SCMP_ARCH_RISCV64"};
#endif

  p.syscalls.push_back(rule(std::vector<std::string>(std::begin(kAllowed), std::end(kAllowed)),
                            "SCMP_ACT_ALLOW"));
  // socket(2) for every family but AF_VSOCK (40): host-reachable sockets.
  p.syscalls.push_back(rule_with_arg("socket", 0, 40, 0, "SCMP_CMP_NE"));
  // personality(2): only the Linux execution domains (PER_LINUX, PER_LINUX32,
  // UNAME26 variants) and the 0xffffffff query.
  for (uint64_t v : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
    p.syscalls.push_back(rule_with_arg("personality", 0, v, 0, "SCMP_CMP_EQ"));

#if defined(__x86_64__)
  p.syscalls.push_back(rule({"arch_prctl", "modify_ldt"}, "SCMP_ACT_ALLOW"));
#elif defined(__aarch64__) || defined(__arm__)
  p.syscalls.push_back(rule({"arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
                             "breakpoint", "cacheflush", "set_tls"},
                            "SCMP_ACT_ALLOW"));
#elif defined(__s390x__)
  p.syscalls.push_back(rule({"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"},
                            "SCMP_ACT_ALLOW"));
#elif defined(__riscv)
  p.syscalls.push_back(rule({"riscv_flush_icache"}, "SCMP_ACT_ALLOW"));
#endif

  for (const auto& r : kCapRules) {
    if (!has(r.cap)) continue;
    p.syscalls.push_back(rule(std::vector<std::string>(r.names.begin(), r.names.end()),
                              "SCMP_ACT_ALLOW"));
  }
  if (!has("CAP_SYS_ADMIN")) {
#if defined(__s390x__)
    const uint32_t flags_arg = 1;  // s390 swaps clone's first two arguments
#else
    const uint32_t flags_arg = 0;
#endif
    p.syscalls.push_back(
        rule_with_arg("clone", flags_arg, kCloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"));
    // ENOSYS, not EPERM: libc then falls back to clone(2), checked above
    // (clone3 passes flags in memory, which seccomp cannot inspect).
    oci::SeccompSyscall c3 = rule({"clone3"}, "SCMP_ACT_ERRNO");
    c3.errno_ret = ENOSYS;
    p.syscalls.push_back(std::move(c3));
  }
  return p;
}

}  // namespace berth::runtime
