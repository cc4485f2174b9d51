// berth-init-wait: what a container's init runs between `create` and
// `start` when it shared the runtime's memory during `create`
// (runtime/init_wait.hpp says why). It has no libc: a few pages, one exec.
//
//   berth-init-wait FIFO_FD SECCOMP_FD|- PATH ARGV0 [ARGS...]   (env: the process's)
//
// 1. Reads the one byte `start` writes into the exec fifo (retrying on EINTR).
//    EOF or an error: the container was never started; exit 1.
// 2. Marks the fifo close-on-exec: its closing at the execve below tells
//    `start` that the process runs.
// 3. With a SECCOMP_FD (a memfd: u32 flags, u32 instruction count, then the
//    classic-BPF program), loads that filter: the one a process with
//    noNewPrivileges gets last, as close to its execve as runc loads it.
// 4. execve(PATH, ARGV0 ARGS..., env).
// Any failure: "-1 <errno> <what>" into the exec fifo, which `start` reads
// and fails with (init.hpp: report_start_error), one line on stderr (the
// container's log) and exit 127, as the runtime's own init does after `start`.

typedef long i64;
typedef unsigned int u32;
typedef unsigned short u16;

static i64 sys(i64 n, i64 a, i64 b, i64 c) {
  i64 ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}

enum {
  SYS_read = 0,
  SYS_write = 1,
  SYS_close = 3,
  SYS_execve = 59,
  SYS_exit = 60,
  SYS_fcntl = 72,
  SYS_seccomp = 317,
};
enum { EINTR = 4, F_SETFD = 2, FD_CLOEXEC = 1, SECCOMP_SET_MODE_FILTER = 1, MAX_INSNS = 4096 };

struct sock_fprog {
  u16 len;
  void* filter;
};

static i64 length(const char* s) {
  i64 n = 0;
  while (s[n]) ++n;
  return n;
}

static void put(const char* s) { sys(SYS_write, 2, (i64)s, length(s)); }

static const char* errno_name(i64 e) {
  switch (e) {
    case 1: return "EPERM";
    case 2: return "ENOENT";
    case 7: return "E2BIG";
    case 8: return "ENOEXEC";
    case 12: return "ENOMEM";
    case 13: return "EACCES";
    case 14: return "EFAULT";
    case 20: return "ENOTDIR";
    case 22: return "EINVAL";
    case 26: return "ETXTBSY";
    case 40: return "ELOOP";
    default: return "an error";
  }
}

static i64 fifo = -1;

// "-1 <errno> " then s, into buf (at least 24 + length(s) + length(t) bytes).
static i64 report(char* buf, i64 err, const char* s, const char* t) {
  char digits[20];
  i64 n = 0, d = 0;
  for (const char* p = "-1 "; *p; ++p) buf[n++] = *p;
  do digits[d++] = (char)('0' + err % 10);
  while ((err /= 10) > 0);
  while (d > 0) buf[n++] = digits[--d];
  buf[n++] = ' ';
  for (; *s; ++s) buf[n++] = *s;
  for (; *t; ++t) buf[n++] = *t;
  return n;
}

__attribute__((noreturn)) static void fail(const char* what, const char* arg, i64 err) {
  static char record[4096];
  if (length(what) + length(arg) < (i64)sizeof record - 24)
    sys(SYS_write, fifo, (i64)record, report(record, -err, what, arg));
  put("berth-runtime: start container: ");
  put(what);
  put(arg);
  put(": ");
  put(errno_name(-err));
  put("\n");
  sys(SYS_exit, 127, 0, 0);
  __builtin_unreachable();
}

static i64 number(const char* s) {
  i64 n = 0;
  if (!*s) return -1;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return -1;
    n = n * 10 + (*s - '0');
  }
  return n;
}

// Reads exactly n bytes; 0 on success.
static i64 read_all(i64 fd, char* buf, i64 n) {
  while (n > 0) {
    i64 r = sys(SYS_read, fd, (i64)buf, n);
    if (r == -EINTR) continue;
    if (r <= 0) return r < 0 ? r : -22;
    buf += r;
    n -= r;
  }
  return 0;
}

__attribute__((used)) void init_wait(i64* sp) {
  i64 argc = sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  if (argc < 5) {
    put("berth-init-wait: run by berth-runtime only\n");
    sys(SYS_exit, 2, 0, 0);
  }
  fifo = number(argv[1]);
  i64 seccomp_fd = argv[2][0] == '-' ? -1 : number(argv[2]);

  char byte;
  for (;;) {
    i64 r = sys(SYS_read, fifo, (i64)&byte, 1);
    if (r == 1) break;
    if (r == -EINTR) continue;
    sys(SYS_exit, 1, 0, 0);
  }
  sys(SYS_fcntl, fifo, F_SETFD, FD_CLOEXEC);

  if (seccomp_fd >= 0) {
    static unsigned long long program[MAX_INSNS];
    u32 header[2];
    i64 r = read_all(seccomp_fd, (char*)header, sizeof header);
    if (r == 0 && (header[1] == 0 || header[1] > MAX_INSNS)) r = -22;
    if (r == 0) r = read_all(seccomp_fd, (char*)program, (i64)header[1] * 8);
    if (r < 0) fail("read the seccomp filter", "", r);
    sys(SYS_close, seccomp_fd, 0, 0);
    struct sock_fprog prog = {(u16)header[1], program};
    r = sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, header[0], (i64)&prog);
    if (r < 0) fail("linux.seccomp: load filter", "", r);
  }

  i64 r = sys(SYS_execve, (i64)argv[3], (i64)(argv + 4), (i64)envp);
  fail("exec ", argv[3], r);
}

// The kernel starts us with argc at the stack pointer; keep the stack
// 16-byte aligned for the call.
__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call init_wait\n hlt\n");
