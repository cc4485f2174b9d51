#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>

#include "common/error.hpp"
#include "runtime/default_seccomp.hpp"
#include "runtime/seccomp.hpp"
#include "test_support.hpp"

using berth::oci::Seccomp;
using berth::oci::SeccompArg;
using berth::oci::SeccompSyscall;
using berth::runtime::SeccompFilter;

namespace {

// say() may lseek() the fd, which some filters below forbid: format
// into a buffer and write(2) it.
template <typename... A>
void say(int fd, const char* fmt, A... a) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, fmt, a...);
  if (n > 0) [[maybe_unused]] auto w = write(fd, buf, static_cast<size_t>(n));
}

struct ChildResult {
  int status = 0;
  std::string out;
  bool exited(int code) const { return WIFEXITED(status) && WEXITSTATUS(status) == code; }
  bool signaled(int sig) const { return WIFSIGNALED(status) && WTERMSIG(status) == sig; }
};

// Runs fn in a forked child with no_new_privs set (so no privilege is
// needed to load a filter); fn writes what it observed to the fd and returns
// the exit code.
ChildResult in_child(const std::function<int(int)>& fn) {
  int p[2];
  if (pipe(p) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    int rc = 1;
    try {
      rc = fn(p[1]);
    } catch (const std::exception& e) {
      say(p[1], "exception: %s\n", e.what());
      rc = 100;
    }
    _exit(rc);
  }
  close(p[1]);
  ChildResult r;
  char buf[1024];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  waitpid(pid, &r.status, 0);
  return r;
}

Seccomp allow_all_but(SeccompSyscall rule) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.syscalls.push_back(std::move(rule));
  return s;
}

SeccompSyscall sc(std::vector<std::string> names, std::string action,
                  std::optional<uint32_t> errno_ret = std::nullopt, std::vector<SeccompArg> args = {}) {
  SeccompSyscall s;
  s.names = std::move(names);
  s.action = std::move(action);
  s.errno_ret = errno_ret;
  s.args = std::move(args);
  return s;
}

std::string error_of(const Seccomp& s) {
  try {
    SeccompFilter f(s);
  } catch (const berth::Error& e) {
    EXPECT_EQ(e.kind(), berth::ErrorKind::InvalidArgument) << e.what();
    return e.what();
  }
  return "";
}

std::string tmp_path(const char* stem) {
  return std::string("/tmp/berth-seccomp-") + stem + "-" + std::to_string(getpid());
}

}  // namespace

TEST(Seccomp, ErrnoRetMakesMkdirFailWithThatErrno) {
  const std::string dir = tmp_path("mkdir");
  auto r = in_child([&](int out) {
    SeccompFilter f(allow_all_but(sc({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", ENOMSG)));
    EXPECT_EQ(f.load(), -1);
    int rc = mkdir(dir.c_str(), 0700);
    say(out, "%d %d", rc, errno);
    return 0;
  });
  ASSERT_TRUE(r.exited(0)) << r.out;
  EXPECT_EQ(r.out, "-1 " + std::to_string(ENOMSG));
  EXPECT_NE(access(dir.c_str(), F_OK), 0);
}

TEST(Seccomp, ErrnoWithoutErrnoRetIsEperm) {
  auto r = in_child([&](int out) {
    SeccompFilter f(allow_all_but(sc({"getcwd"}, "SCMP_ACT_ERRNO")));
    f.load();
    char buf[64];
    long rc = syscall(SYS_getcwd, buf, sizeof buf);
    say(out, "%ld %d", rc, errno);
    return 0;
  });
  EXPECT_EQ(r.out, "-1 " + std::to_string(EPERM));
}

TEST(Seccomp, DefaultActionAndDefaultErrnoRet) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.default_errno_ret = EXDEV;
  s.syscalls.push_back(sc({"write", "exit_group", "exit", "getpid", "rt_sigreturn"}, "SCMP_ACT_ALLOW"));
  auto r = in_child([&](int out) {
    SeccompFilter f(s);
    f.load();
    long rc = syscall(SYS_getppid);
    say(out, "%ld %d", rc, errno);
    return 0;
  });
  ASSERT_TRUE(r.exited(0)) << r.out;
  EXPECT_EQ(r.out, "-1 " + std::to_string(EXDEV));
}

TEST(Seccomp, MaskedEqCondition) {
  // mkdir fails only when the mode has any "other" bit (mode & 07 != 0 is
  // expressed as NOT (mode & 07 == 0): ERRNO when masked value equals 07).
  const std::string a = tmp_path("masked-a"), b = tmp_path("masked-b");
  SeccompArg cond{1, 07, 07, "SCMP_CMP_MASKED_EQ"};
  auto r = in_child([&](int out) {
    SeccompFilter f(allow_all_but(sc({"mkdir"}, "SCMP_ACT_ERRNO", EDOM, {cond})));
    f.load();
    int r1 = static_cast<int>(syscall(SYS_mkdir, a.c_str(), 0777));
    int e1 = errno;
    int r2 = static_cast<int>(syscall(SYS_mkdir, b.c_str(), 0770));
    say(out, "%d %d %d", r1, e1, r2);
    return 0;
  });
  rmdir(a.c_str());
  rmdir(b.c_str());
  EXPECT_EQ(r.out, "-1 " + std::to_string(EDOM) + " 0");
}

TEST(Seccomp, AllComparisonOperators) {
  // lseek(fd, off, whence): rule on whence (arg 2) with each operator.
  struct Case {
    const char* op;
    uint64_t value;
    int whence;
    bool blocked;
  };
  const Case cases[] = {
      {"SCMP_CMP_EQ", SEEK_END, SEEK_END, true}, {"SCMP_CMP_EQ", SEEK_END, SEEK_SET, false},
      {"SCMP_CMP_NE", SEEK_SET, SEEK_CUR, true}, {"SCMP_CMP_NE", SEEK_SET, SEEK_SET, false},
      {"SCMP_CMP_LT", SEEK_CUR, SEEK_SET, true}, {"SCMP_CMP_LT", SEEK_CUR, SEEK_CUR, false},
      {"SCMP_CMP_LE", SEEK_CUR, SEEK_CUR, true}, {"SCMP_CMP_LE", SEEK_CUR, SEEK_END, false},
      {"SCMP_CMP_GT", SEEK_CUR, SEEK_END, true}, {"SCMP_CMP_GT", SEEK_CUR, SEEK_CUR, false},
      {"SCMP_CMP_GE", SEEK_CUR, SEEK_CUR, true}, {"SCMP_CMP_GE", SEEK_CUR, SEEK_SET, false},
  };
  for (const auto& c : cases) {
    auto r = in_child([&](int out) {
      SeccompFilter f(allow_all_but(
          sc({"lseek"}, "SCMP_ACT_ERRNO", ENOANO, {SeccompArg{2, c.value, 0, c.op}})));
      f.load();
      int fd = open("/proc/self/status", O_RDONLY);
      long rc = syscall(SYS_lseek, fd, 0, c.whence);
      say(out, "%d", rc < 0 && errno == ENOANO ? 1 : 0);
      return 0;
    });
    EXPECT_EQ(r.out, c.blocked ? "1" : "0") << c.op << " " << c.value << " whence " << c.whence;
  }
}

TEST(Seccomp, SameArgumentIndexTwiceMeansEither) {
  // Two conditions on arg 2: blocked if whence == SEEK_CUR OR whence == SEEK_END.
  auto r = in_child([&](int out) {
    SeccompFilter f(allow_all_but(sc({"lseek"}, "SCMP_ACT_ERRNO", ENOANO,
                                     {SeccompArg{2, SEEK_CUR, 0, "SCMP_CMP_EQ"},
                                      SeccompArg{2, SEEK_END, 0, "SCMP_CMP_EQ"}})));
    f.load();
    int fd = open("/proc/self/status", O_RDONLY);
    for (int w : {SEEK_SET, SEEK_CUR, SEEK_END}) {
      long rc = syscall(SYS_lseek, fd, 0, w);
      say(out, "%d", rc < 0 ? 1 : 0);
    }
    return 0;
  });
  EXPECT_EQ(r.out, "011");
}

TEST(Seccomp, KillProcessKillsWithSigsys) {
  auto r = in_child([&](int) {
    SeccompFilter f(allow_all_but(sc({"getppid"}, "SCMP_ACT_KILL_PROCESS")));
    f.load();
    syscall(SYS_getppid);
    return 0;
  });
  EXPECT_TRUE(r.signaled(SIGSYS)) << r.status;
}

TEST(Seccomp, KillAndKillThreadAndTrap) {
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP"}) {
    auto r = in_child([&](int) {
      SeccompFilter f(allow_all_but(sc({"getppid"}, action)));
      f.load();
      syscall(SYS_getppid);
      return 0;
    });
    EXPECT_TRUE(r.signaled(SIGSYS)) << action << " status " << r.status;
  }
}

TEST(Seccomp, LogAndTraceActions) {
  auto r = in_child([&](int out) {
    Seccomp s = allow_all_but(sc({"getppid"}, "SCMP_ACT_LOG"));
    // TRACE without a tracer fails the syscall with ENOSYS.
    s.syscalls.push_back(sc({"getcwd"}, "SCMP_ACT_TRACE", 7));
    s.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
    SeccompFilter f(s);
    f.load();
    long a = syscall(SYS_getppid);
    char buf[64];
    long b = syscall(SYS_getcwd, buf, sizeof buf);
    say(out, "%d %ld %d", a > 0 ? 1 : 0, b, errno);
    return 0;
  });
  ASSERT_TRUE(r.exited(0)) << r.out;
  EXPECT_EQ(r.out, "1 -1 " + std::to_string(ENOSYS));
}

TEST(Seccomp, NotifyListenerReceivesTheSyscall) {
  auto r = in_child([&](int out) {
    SeccompFilter f(allow_all_but(sc({"mkdir", "mkdirat"}, "SCMP_ACT_NOTIFY")));
    EXPECT_TRUE(f.has_notify());
    int listener = f.load();
    if (listener < 0) return 2;
    pid_t kid = fork();
    if (kid == 0) {
      int rc = mkdir("/tmp/berth-seccomp-notify-never", 0700);
      _exit(rc == -1 && errno == EILSEQ ? 0 : 1);
    }
    struct seccomp_notif* req = nullptr;
    struct seccomp_notif_resp* resp = nullptr;
    if (seccomp_notify_alloc(&req, &resp) != 0) return 3;
    if (seccomp_notify_receive(listener, req) != 0) return 4;
    say(out, "syscall=%d ", req->data.nr == SYS_mkdir || req->data.nr == SYS_mkdirat ? 1 : 0);
    resp->id = req->id;
    resp->error = -EILSEQ;
    resp->val = 0;
    resp->flags = 0;
    if (seccomp_notify_respond(listener, resp) != 0) return 5;
    int st = 0;
    waitpid(kid, &st, 0);
    say(out, "kid=%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
  });
  ASSERT_TRUE(r.exited(0)) << r.status << " " << r.out;
  EXPECT_EQ(r.out, "syscall=1 kid=0");
}

TEST(Seccomp, UnknownSyscallNamesAreSkipped) {
  Seccomp s = allow_all_but(sc({"getppid", "no_such_syscall_xyz"}, "SCMP_ACT_ERRNO"));
  SeccompFilter f(s);
  EXPECT_EQ(f.rule_count(), 1u);
  EXPECT_GT(f.bpf_instructions(), 0u);
}

TEST(Seccomp, RuleWithDefaultActionIsANoOp) {
  Seccomp s = allow_all_but(sc({"getppid"}, "SCMP_ACT_ALLOW"));
  SeccompFilter f(s);
  EXPECT_EQ(f.rule_count(), 0u);
}

TEST(Seccomp, BadNamesAreErrorsNamingTheField) {
  Seccomp s = allow_all_but(sc({"getppid"}, "SCMP_ACT_EXPLODE"));
  auto w = error_of(s);
  EXPECT_NE(w.find("linux.seccomp.syscalls[0].action"), std::string::npos) << w;
  EXPECT_NE(w.find("SCMP_ACT_EXPLODE"), std::string::npos) << w;

  s = allow_all_but(sc({"getppid"}, "SCMP_ACT_ERRNO", 1, {SeccompArg{0, 1, 0, "SCMP_CMP_ALMOST"}}));
  w = error_of(s);
  EXPECT_NE(w.find("linux.seccomp.syscalls[0].args[0].op"), std::string::npos) << w;
  EXPECT_NE(w.find("SCMP_CMP_ALMOST"), std::string::npos) << w;

  s = allow_all_but(sc({"getppid"}, "SCMP_ACT_ERRNO"));
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
  w = error_of(s);
  EXPECT_NE(w.find("linux.seccomp.architectures[1]"), std::string::npos) << w;

  s = allow_all_but(sc({"getppid"}, "SCMP_ACT_ERRNO"));
  s.flags = {"SECCOMP_FILTER_FLAG_BOGUS"};
  w = error_of(s);
  EXPECT_NE(w.find("linux.seccomp.flags[0]"), std::string::npos) << w;

  Seccomp d;
  d.default_action = "SCMP_ACT_NOPE";
  w = error_of(d);
  EXPECT_NE(w.find("linux.seccomp.defaultAction"), std::string::npos) << w;

  s = allow_all_but(sc({"getppid"}, "SCMP_ACT_ERRNO", 1, {SeccompArg{6, 1, 0, "SCMP_CMP_EQ"}}));
  w = error_of(s);
  EXPECT_NE(w.find("args[0].index"), std::string::npos) << w;
}

// A profile far over the kernel's 4096 instructions is refused at once,
// naming the limit, not after libseccomp compiled it (20,000 rules on one
// syscall took 17 s of CPU).
TEST(Seccomp, HugeProfileIsRefusedBeforeCompiling) {
  Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  for (uint64_t i = 0; i < 20000; ++i)
    s.syscalls.push_back(sc({"getppid"}, "SCMP_ACT_ERRNO", 1, {SeccompArg{0, i, 0, "SCMP_CMP_EQ"}}));
  auto start = std::chrono::steady_clock::now();
  auto w = error_of(s);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(w.find("the kernel's limit of 4096"), std::string::npos) << w;
  EXPECT_NE(w.find("20000 rules"), std::string::npos) << w;
  EXPECT_LT(took.count(), 2.0);
}

// Rules libseccomp merges away do not count against that limit: repeats,
// and conditional rules an unconditional one with the same action covers.
TEST(Seccomp, RedundantRulesDoNotCountAgainstTheLimit) {
  Seccomp s = allow_all_but(sc({"getppid"}, "SCMP_ACT_ERRNO", 1));
  for (uint64_t i = 0; i < 5000; ++i) {
    s.syscalls.push_back(sc({"getppid"}, "SCMP_ACT_ERRNO", 1));
    s.syscalls.push_back(sc({"getppid"}, "SCMP_ACT_ERRNO", 1, {SeccompArg{0, i, 0, "SCMP_CMP_EQ"}}));
  }
  SeccompFilter f(s);
  EXPECT_LT(f.bpf_instructions(), 4096u);
  auto r = in_child([&](int fd) {
    f.load();
    errno = 0;
    long rc = syscall(SYS_getppid);
    say(fd, "%ld %d", rc, errno);
    return 0;
  });
  EXPECT_EQ(r.out, "-1 1");
}

TEST(Seccomp, ArchitecturesAreAccepted) {
  Seccomp s = allow_all_but(sc({"getppid"}, "SCMP_ACT_ERRNO"));
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  SeccompFilter f(s);
  EXPECT_GE(f.rule_count(), 1u);
}

TEST(DefaultSeccomp, CompilesAndBlocksDangerousSyscalls) {
  const std::vector<std::string> bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID",
                                             "CAP_NET_BIND_SERVICE"};
  auto profile = berth::runtime::default_seccomp_profile(bounding);
  EXPECT_EQ(profile.default_action, "SCMP_ACT_ERRNO");
  auto r = in_child([&](int out) {
    SeccompFilter f(profile);
    f.load();
    // Ordinary work still works...
    say(out, "getppid=%d ", syscall(SYS_getppid) > 0 ? 1 : 0);
    // ...dangerous calls fail with EPERM (or ENOSYS for clone3).
    errno = 0;
    long rc = syscall(SYS_unshare, CLONE_NEWUSER);
    say(out, "unshare=%ld/%d ", rc, errno);
    rc = syscall(SYS_kexec_load, 0, 0, 0, 0);
    say(out, "kexec=%ld/%d ", rc, errno);
    rc = syscall(SYS_open_by_handle_at, -1, nullptr, 0);
    say(out, "obha=%ld/%d ", rc, errno);
    rc = syscall(SYS_bpf, 0, nullptr, 0);
    say(out, "bpf=%ld/%d ", rc, errno);
    rc = syscall(SYS_keyctl, 0, 0, 0, 0, 0);
    say(out, "keyctl=%ld/%d ", rc, errno);
    rc = syscall(SYS_clone3, nullptr, 0);
    say(out, "clone3=%ld/%d ", rc, errno);
    rc = syscall(SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0);
    say(out, "vsock=%ld/%d ", rc, errno);
    pid_t kid = fork();  // clone without namespace flags: allowed
    if (kid == 0) _exit(0);
    say(out, "fork=%d", kid > 0 ? 1 : 0);
    if (kid > 0) waitpid(kid, nullptr, 0);
    return 0;
  });
  ASSERT_TRUE(r.exited(0)) << r.status << " " << r.out;
  const std::string eperm = "-1/" + std::to_string(EPERM);
  EXPECT_NE(r.out.find("getppid=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unshare=" + eperm), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kexec=" + eperm), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("obha=" + eperm), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bpf=" + eperm), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("keyctl=" + eperm), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("clone3=-1/" + std::to_string(ENOSYS)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vsock=" + eperm), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fork=1"), std::string::npos) << r.out;
}

TEST(DefaultSeccomp, CapabilitiesUnlockTheirSyscalls) {
  auto without = berth::runtime::default_seccomp_profile({"CAP_KILL"});
  auto with = berth::runtime::default_seccomp_profile({"CAP_KILL", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"});
  auto names = [](const Seccomp& s) {
    std::vector<std::string> n;
    for (auto& r : s.syscalls)
      if (r.action == "SCMP_ACT_ALLOW" && r.args.empty()) n.insert(n.end(), r.names.begin(), r.names.end());
    return n;
  };
  auto has = [](const std::vector<std::string>& v, const char* x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  EXPECT_FALSE(has(names(without), "mount"));
  EXPECT_TRUE(has(names(with), "mount"));
  EXPECT_TRUE(has(names(with), "kcmp"));
  EXPECT_FALSE(has(names(without), "kcmp"));
  // With CAP_SYS_ADMIN clone3 is allowed outright (no ENOSYS rule).
  for (auto& r : with.syscalls) EXPECT_FALSE(r.action == "SCMP_ACT_ERRNO" && r.names[0] == "clone3");
  SeccompFilter f(with);
  EXPECT_GT(f.rule_count(), 300u);
}

TEST(SeccompCache, HitMissAndDamage) {
  berth::testing::TempDir d;
  const std::string dir = d / "cache";
  auto profile = berth::runtime::default_seccomp_profile({"CAP_KILL"});
  auto first = SeccompFilter::cached(profile, dir);
  EXPECT_FALSE(first.from_cache());
  auto second = SeccompFilter::cached(profile, dir);
  EXPECT_TRUE(second.from_cache());
  EXPECT_EQ(second.bpf_instructions(), first.bpf_instructions());
  EXPECT_EQ(second.rule_count(), first.rule_count());

  // A different profile is a different entry.
  auto other = berth::runtime::default_seccomp_profile({"CAP_KILL", "CAP_SYS_ADMIN"});
  EXPECT_FALSE(SeccompFilter::cached(other, dir).from_cache());
  EXPECT_TRUE(SeccompFilter::cached(other, dir).from_cache());

  // Two whole, valid entries swapped (as if their names collided): each
  // holds the other's key, so neither is taken for the other's program.
  std::string swap = "cd " + dir + " && set -- *.bpf && [ $# = 2 ] && mv \"$1\" t && mv \"$2\" \"$1\" && mv t \"$2\"";
  ASSERT_EQ(std::system(swap.c_str()), 0);
  EXPECT_FALSE(SeccompFilter::cached(profile, dir).from_cache());
  EXPECT_FALSE(SeccompFilter::cached(other, dir).from_cache());
  EXPECT_TRUE(SeccompFilter::cached(profile, dir).from_cache());

  // Flip a byte in every cache file: ignored and rebuilt.
  std::string cmd = "for f in " + dir + "/*.bpf; do printf 'X' | dd of=$f bs=1 seek=40 conv=notrunc 2>/dev/null; done";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto rebuilt = SeccompFilter::cached(profile, dir);
  EXPECT_FALSE(rebuilt.from_cache());
  EXPECT_TRUE(SeccompFilter::cached(profile, dir).from_cache());

  // A cached filter works like a fresh one.
  auto r = in_child([&](int out) {
    auto f = SeccompFilter::cached(profile, dir);
    f.load();
    long rc = syscall(SYS_unshare, CLONE_NEWUSER);
    say(out, "%d %ld %d", f.from_cache() ? 1 : 0, rc, errno);
    return 0;
  });
  EXPECT_EQ(r.out, "1 -1 " + std::to_string(EPERM));
}

TEST(Seccomp, SyscallsNewerThanTheProfileGetEnosys) {
  // Default EPERM, a profile naming syscalls up to getppid (110 on x86_64):
  // getpid (39, older, not listed) -> EPERM; getrandom (318, newer) -> ENOSYS.
  Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.syscalls.push_back(sc({"write", "exit_group", "exit", "rt_sigreturn", "getppid", "brand_new_syscall_2099"},
                          "SCMP_ACT_ALLOW"));
  auto r = in_child([&](int out) {
    SeccompFilter f(s);
    f.load();
    long a = syscall(SYS_getpid);
    int ea = errno;
    char buf[4];
    long b = syscall(SYS_getrandom, buf, sizeof buf, 0);
    int eb = errno;
    long c = syscall(SYS_getppid);
    say(out, "%ld/%d %ld/%d %d", a, ea, b, eb, c > 0 ? 1 : 0);
    return 0;
  });
  ASSERT_TRUE(r.exited(0)) << r.status << r.out;
  EXPECT_EQ(r.out, "-1/" + std::to_string(EPERM) + " -1/" + std::to_string(ENOSYS) + " 1");
}

TEST(Seccomp, AllowDefaultHasNoEnosysStub) {
  auto r = in_child([&](int out) {
    SeccompFilter f(allow_all_but(sc({"getppid"}, "SCMP_ACT_ERRNO")));
    f.load();
    char buf[4];
    long b = syscall(SYS_getrandom, buf, sizeof buf, 0);
    say(out, "%ld", b);
    return 0;
  });
  EXPECT_EQ(r.out, "4");
}
