// The runtime-start launcher: enter mount namespace NS, then exec
//   RUNTIME --root ROOT run --bundle BUNDLE b<pid>
// so every hyperfine run gets a fresh container id.
//
//   launch NS RUNTIME ROOT BUNDLE
//   launch NS - ...        enter NS and exit 0: the launcher's own cost
//
// Why not `sh -c 'exec nsenter ...'`: that costs ~3 ms here (two dynamic
// executables, each paying the loader and glibc's start-up), the same for
// every runtime, which pulls all ratios toward 1 and hides the runtime
// itself. This has no libc at all (raw syscalls, -nostdlib -static): one
// exec of a few pages, one open, one setns. Built by bench/runtime-start/setup.sh.

typedef long i64;

static i64 sys(i64 n, i64 a, i64 b, i64 c) {
  i64 ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}

enum { SYS_write = 1, SYS_open = 2, SYS_getpid = 39, SYS_execve = 59, SYS_exit = 60, SYS_setns = 308 };
#define O_RDONLY_CLOEXEC 02000000
#define CLONE_NEWNS 0x00020000

static i64 len(const char* s) {
  i64 n = 0;
  while (s[n]) ++n;
  return n;
}

static void die(const char* what, const char* arg) {
  sys(SYS_write, 2, (i64) "launch: ", 8);
  sys(SYS_write, 2, (i64)what, len(what));
  sys(SYS_write, 2, (i64)arg, len(arg));
  sys(SYS_write, 2, (i64) "\n", 1);
  sys(SYS_exit, 1, 0, 0);
}

__attribute__((used)) void launch(i64* sp) {
  i64 argc = sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  if (argc != 5) die("usage: launch NS RUNTIME ROOT BUNDLE", "");

  i64 fd = sys(SYS_open, (i64)argv[1], O_RDONLY_CLOEXEC, 0);
  if (fd < 0) die("cannot open mount namespace ", argv[1]);
  if (sys(SYS_setns, fd, CLONE_NEWNS, 0) < 0) die("setns failed for ", argv[1]);
  if (argv[2][0] == '-' && argv[2][1] == 0) sys(SYS_exit, 0, 0, 0);

  char id[24];
  id[0] = 'b';
  unsigned long pid = (unsigned long)sys(SYS_getpid, 0, 0, 0);
  char digits[20];
  int n = 0;
  do digits[n++] = (char)('0' + pid % 10);
  while ((pid /= 10) != 0);
  for (int i = 0; i < n; ++i) id[1 + i] = digits[n - 1 - i];
  id[1 + n] = 0;

  char* args[] = {argv[2], "--root", argv[3], "run", "--bundle", argv[4], id, 0};
  sys(SYS_execve, (i64)argv[2], (i64)args, (i64)envp);
  die("cannot exec ", argv[2]);
}

// The kernel starts us with argc at the stack pointer; keep the stack
// 16-byte aligned for the call.
__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call launch\n hlt\n");
