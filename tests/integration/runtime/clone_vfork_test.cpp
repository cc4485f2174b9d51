// clone_vfork: a child that shares our memory, on its own stack, while we
// are suspended until it execs or exits.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include "common/error.hpp"
#include "runtime/clone_vfork.hpp"
#include "test_support.hpp"

using namespace berth::runtime;

namespace {

struct Shared {
  int written = 0;
  pid_t seen_pid = 0;          // getpid() in the child
  pid_t seen_host_pid = 0;     // what clone3 stored for it
  const pid_t* host_pid_slot = nullptr;
  std::atomic<bool> late_write{false};
};

int status_of(pid_t pid) {
  int st = 0;
  EXPECT_EQ(::waitpid(pid, &st, 0), pid);
  return st;
}

}  // namespace

TEST(CloneVfork, ChildWritesOurMemoryAndWeResumeAfterItExits) {
  if (!clone_vfork_supported()) GTEST_SKIP() << "no clone_vfork on this architecture";
  Shared s;
  pid_t slot = 0;
  s.host_pid_slot = &slot;
  pid_t pid = clone_vfork({0, nullptr, -1, &slot},
                          [](void* p) {
                            auto* sh = static_cast<Shared*>(p);
                            // We are suspended: a write 30 ms later is still
                            // seen when clone_vfork returns.
                            struct timespec ts = {0, 30'000'000};
                            ::nanosleep(&ts, nullptr);
                            sh->written = 42;
                            sh->seen_pid = ::getpid();
                            sh->seen_host_pid = *sh->host_pid_slot;
                            sh->late_write = true;
                            _exit(7);
                          },
                          &s);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(s.late_write.load());
  EXPECT_EQ(s.written, 42);
  EXPECT_EQ(s.seen_pid, pid);
  EXPECT_EQ(s.seen_host_pid, pid);
  EXPECT_EQ(slot, pid);
  int st = status_of(pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 7);
}

TEST(CloneVfork, InANewPidNamespaceTheSlotHoldsOurViewOfThePid) {
  BERTH_REQUIRE_ROOT();
  if (!clone_vfork_supported()) GTEST_SKIP() << "no clone_vfork on this architecture";
  Shared s;
  pid_t slot = 0;
  s.host_pid_slot = &slot;
  pid_t pid = clone_vfork({CLONE_NEWPID, nullptr, -1, &slot},
                          [](void* p) {
                            auto* sh = static_cast<Shared*>(p);
                            sh->seen_pid = ::getpid();
                            sh->seen_host_pid = *sh->host_pid_slot;
                            _exit(0);
                          },
                          &s);
  EXPECT_EQ(s.seen_pid, 1);
  EXPECT_EQ(s.seen_host_pid, pid);
  EXPECT_EQ(status_of(pid), 0);
}

TEST(CloneVfork, ReturnsOnceTheChildExecsWhileItStillRuns) {
  if (!clone_vfork_supported()) GTEST_SKIP() << "no clone_vfork on this architecture";
  int pidfd = -1;
  pid_t pid = clone_vfork({0, &pidfd, -1, nullptr},
                          [](void*) {
                            const char* argv[] = {"sleep", "0.3", nullptr};
                            ::execv("/bin/sleep", const_cast<char**>(argv));
                            _exit(127);
                          },
                          nullptr);
  ASSERT_GT(pid, 0);
  EXPECT_GE(pidfd, 0);
  // Returned at the exec, not at the exit: the child is still running.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), 0);
  EXPECT_EQ(status_of(pid), 0);
  if (pidfd >= 0) ::close(pidfd);
}

TEST(CloneVfork, AFailedCloneThrowsAndLeavesNoChild) {
  if (!clone_vfork_supported()) GTEST_SKIP() << "no clone_vfork on this architecture";
  // CLONE_NEWNS with CLONE_FS is refused by the kernel (EINVAL).
  auto bad_clone = [] { clone_vfork({CLONE_NEWNS | CLONE_FS, nullptr, -1, nullptr}, [](void*) { _exit(0); }, nullptr); };
  EXPECT_THROW(bad_clone(), berth::Error);
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
}
