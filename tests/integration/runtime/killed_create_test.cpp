// A `create` killed at any point (SIGKILL: the OOM killer, an engine's
// timeout) leaves nothing `delete --force` does not find and remove: the
// init it may have built and left waiting for `start`, its cgroup dirs, the
// state file, the exec fifo and temp files.
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <chrono>
#include <random>

#include "runtime_checks.hpp"

using namespace berth::testing;
using json = nlohmann::json;

namespace {

// Starts `berth-runtime create` with its stdio on /dev/null (the init
// inherits it and may outlive the test's reading end).
pid_t spawn_create(const Runtime& rt, const Bundle& b, const std::string& id) {
  std::vector<std::string> args = {rt.binary, "--root", rt.root(), "create", "--bundle", b.path(), id};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t io;
  posix_spawn_file_actions_init(&io);
  for (int fd : {0, 1, 2}) posix_spawn_file_actions_addopen(&io, fd, "/dev/null", O_RDWR, 0);
  pid_t pid = -1;
  if (posix_spawn(&pid, rt.binary.c_str(), &io, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&io);
  return pid;
}

// Processes still in a cgroup the container's id names.
std::vector<std::string> cgroup_tasks(const std::string& id) {
  std::vector<std::string> out;
  for (const auto& d : cgroup_dirs(id))
    if (std::string procs = slurp(d + "/cgroup.procs"); !procs.empty()) out.push_back(d + ": " + procs);
  return out;
}

}  // namespace

TEST(KilledCreate, DeleteForceRemovesWhatItMade) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.write();
  Runtime rt;

  // How long a whole create takes here: the kills land anywhere in it.
  auto start = std::chrono::steady_clock::now();
  std::string first = Runtime::unique_id("killed");
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), first}).exit_code, 0);
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  ASSERT_EQ(rt({"delete", "--force", first}).exit_code, 0);

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<long> delay_us(0, took.count() * 3 / 2);
  for (int i = 0; i < 40; ++i) {
    std::string id = Runtime::unique_id("killed");
    long delay = delay_us(rng);
    pid_t create = spawn_create(rt, b, id);
    ASSERT_GT(create, 0);
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
    ::kill(create, SIGKILL);
    int status = 0;
    ::waitpid(create, &status, 0);

    auto r = rt({"delete", "--force", id});
    EXPECT_EQ(r.exit_code, 0) << "killed after " << delay << " us: " << r.err;
    EXPECT_TRUE(processes_rooted_in(b.rootfs()).empty()) << "killed after " << delay << " us: a live init";
    EXPECT_TRUE(cgroup_tasks(id).empty()) << "killed after " << delay << " us: " << cgroup_tasks(id)[0];
    EXPECT_TRUE(cgroup_dirs(id).empty()) << "killed after " << delay << " us: " << cgroup_dirs(id)[0];
    EXPECT_TRUE(state_files_of(rt, id).empty()) << "killed after " << delay << " us: " << state_files_of(rt, id)[0];
    if (HasFailure()) break;
  }
  for (pid_t p : processes_rooted_in(b.rootfs())) ::kill(p, SIGKILL);  // after a failure
}

// Without a mount namespace the rootfs is bound on itself in the host's
// mount table (host_rootfs.hpp): a create killed at any point leaves no
// such mount once `delete --force` ran.
TEST(KilledCreate, WithoutAMountNamespaceLeavesNoHostMount) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.config["linux"]["namespaces"] = json::array({{{"type", "pid"}}});
  b.config.erase("hostname");
  b.config["mounts"] = json::array({{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}}});
  b.write();
  Runtime rt;
  auto host_mounts_of_rootfs = [&] {
    int n = 0;
    std::string info = slurp("/proc/self/mountinfo");
    for (size_t at = 0; (at = info.find(" " + b.rootfs(), at)) != std::string::npos; ++at) ++n;
    return n;
  };
  auto start = std::chrono::steady_clock::now();
  std::string first = Runtime::unique_id("killedhm");
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), first}).exit_code, 0);
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  ASSERT_GT(host_mounts_of_rootfs(), 0) << "the rootfs is bound in the host while the container lives";
  ASSERT_EQ(rt({"delete", "--force", first}).exit_code, 0);
  ASSERT_EQ(host_mounts_of_rootfs(), 0);

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<long> delay_us(0, took.count() * 3 / 2);
  for (int i = 0; i < 30; ++i) {
    std::string id = Runtime::unique_id("killedhm");
    long delay = delay_us(rng);
    pid_t create = spawn_create(rt, b, id);
    ASSERT_GT(create, 0);
    std::this_thread::sleep_for(std::chrono::microseconds(delay));
    ::kill(create, SIGKILL);
    int status = 0;
    ::waitpid(create, &status, 0);
    auto r = rt({"delete", "--force", id});
    EXPECT_EQ(r.exit_code, 0) << "killed after " << delay << " us: " << r.err;
    EXPECT_EQ(host_mounts_of_rootfs(), 0) << "killed after " << delay << " us: the rootfs is still mounted";
    EXPECT_TRUE(processes_rooted_in(b.rootfs()).empty()) << "killed after " << delay << " us: a live init";
    if (HasFailure()) break;
  }
  for (pid_t p : processes_rooted_in(b.rootfs())) ::kill(p, SIGKILL);
  while (host_mounts_of_rootfs() > 0 && ::umount2(b.rootfs().c_str(), MNT_DETACH) == 0) {
  }
}
