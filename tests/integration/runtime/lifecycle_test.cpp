// Container lifecycle through the real berth-runtime binary: create, start,
// state, kill, delete, run, list, ps, pause/resume, exit codes, --log json.
#include <csignal>

#include "runtime_checks.hpp"

using namespace berth::testing;
using nlohmann::json;

TEST(Lifecycle, RunPropagatesExitCode) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sh", "-c", "echo hello; exit 3"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("exit");
  auto r = rt({"run", "--bundle", b.path(), id});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Lifecycle, RunReportsSignalAs128PlusSignal) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  // pid 1 ignores signals it has no handler for, so the shell kills itself
  // from a child process that is not pid 1.
  b.set_args({"sh", "-c", "kill -9 $$; echo not-reached"});
  b.config["linux"]["namespaces"] = json::array({{{"type", "mount"}}, {{"type", "uts"}}});
  b.config.erase("hostname");
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("sig");
  auto r = rt({"run", "--bundle", b.path(), id});
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Lifecycle, CreateWaitsUntilStart) {
  BERTH_REQUIRE_BUSYBOX();
  TempDir out;
  Bundle b;
  share_dir(b, out.path());
  b.set_args({"sh", "-c", "echo ran > " + out.path() + "/ran; exec sleep 1000"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("life");
  std::string pidfile = out.path() + "/init.pid";
  auto r = run_detached(rt, {"create", "--bundle", b.path(), "--pid-file", pidfile, id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json st = state_of(rt, id);
  EXPECT_EQ(st["status"], "created");
  EXPECT_EQ(st["id"], id);
  EXPECT_EQ(st["bundle"], b.path());
  EXPECT_EQ(st["rootfs"], b.rootfs());
  for (const char* k : {"ociVersion", "created", "owner", "annotations"}) EXPECT_TRUE(st.contains(k)) << k;
  int pid = st["pid"];
  EXPECT_GT(pid, 0);
  EXPECT_EQ(slurp(pidfile), std::to_string(pid));
  // The user process has not run: nothing written yet.
  EXPECT_FALSE(path_exists(out.path() + "/ran"));
  EXPECT_FALSE(cgroup_dirs(id).empty()) << "no cgroup made at /berth/" << id;

  r = rt({"start", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(eventually([&] { return path_exists(out.path() + "/ran"); }));
  EXPECT_EQ(state_of(rt, id)["status"], "running");
  EXPECT_EQ(state_of(rt, id)["pid"], pid);

  // start again: refused, one line.
  r = rt({"start", id});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("running"), std::string::npos) << r.err;

  // delete without --force refuses a running container.
  r = rt({"delete", id});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.err.find("not stopped"), std::string::npos) << r.err;
  EXPECT_EQ(state_of(rt, id)["status"], "running");

  r = rt({"kill", id, "KILL"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(eventually([&] { return state_of(rt, id)["status"] == "stopped"; }));
  EXPECT_EQ(state_of(rt, id)["pid"], 0);
  // kill of a stopped container: containerd matches this phrase.
  r = rt({"kill", id, "9"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("container not running"), std::string::npos) << r.err;

  r = rt({"delete", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NO_LEFTOVERS(rt, b, id);
  r = rt({"state", id});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

TEST(Lifecycle, KillAcceptsNamesAndNumbers) {
  BERTH_REQUIRE_BUSYBOX();
  for (std::string sig : {"9", "KILL", "SIGKILL", "sigkill"}) {
    Bundle b;
    b.set_args({"sleep", "1000"});
    b.write();
    Runtime rt;
    std::string id = Runtime::unique_id("kill");
    ASSERT_EQ(run_detached(rt, {"run", "--detach", "--bundle", b.path(), id}).exit_code, 0);
    EXPECT_EQ(state_of(rt, id)["status"], "running");
    auto r = rt({"kill", id, sig});
    EXPECT_EQ(r.exit_code, 0) << sig << ": " << r.err;
    EXPECT_TRUE(eventually([&] { return state_of(rt, id)["status"] == "stopped"; })) << sig;
    EXPECT_EQ(rt({"delete", id}).exit_code, 0);
    EXPECT_NO_LEFTOVERS(rt, b, id);
  }
  Runtime rt;
  auto r = rt({"kill", "whatever", "SIGNOPE"});
  EXPECT_NE(r.exit_code, 0);
}

TEST(Lifecycle, KillAllReachesEveryProcess) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  // Without a pid namespace the init dying does not take the others along.
  b.config["linux"]["namespaces"] = json::array({{{"type", "mount"}}});
  b.config.erase("hostname");
  b.set_args({"sh", "-c", "sleep 1000 & sleep 1000 & exec sleep 1000"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("killall");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  json pids;
  ASSERT_TRUE(eventually([&] {
    pids = json::parse(rt({"ps", "--format", "json", id}).out);
    return pids.size() == 3;
  })) << pids;
  EXPECT_EQ(rt({"kill", "--all", id, "KILL"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    for (int p : pids)
      if (path_exists("/proc/" + std::to_string(p)) &&
          slurp("/proc/" + std::to_string(p) + "/stat").find(") Z") == std::string::npos)
        return false;
    return true;
  }));
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

// containerd's shim runs `kill --all ID KILL` after every task exit: of a
// stopped container it must reach what the init left in its cgroup, and
// succeed when nothing is left (runc does both).
TEST(Lifecycle, KillAllOfAStoppedContainerReachesWhatItsInitLeft) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  // No pid namespace: the init exiting leaves its children running.
  b.config["linux"]["namespaces"] = json::array({{{"type", "mount"}}});
  b.config.erase("hostname");
  b.set_args({"sh", "-c", "sleep 1000 & sleep 1000 & sleep 0.3"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("killstopped");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  json pids;
  ASSERT_TRUE(eventually([&] {
    pids = json::parse(rt({"ps", "--format", "json", id}).out);
    return pids.size() == 3;
  })) << pids;
  ASSERT_TRUE(eventually([&] { return state_of(rt, id)["status"] == "stopped"; }));
  auto alive = [&](int p) {
    return path_exists("/proc/" + std::to_string(p)) &&
           slurp("/proc/" + std::to_string(p) + "/stat").find(") Z") == std::string::npos;
  };
  int left = 0;
  for (int p : pids) left += alive(p);
  ASSERT_EQ(left, 2) << "the two sleeps outlive the init";
  // Without --all a stopped container still refuses (containerd matches it).
  auto r = rt({"kill", id, "KILL"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("container not running"), std::string::npos) << r.err;
  r = rt({"kill", "--all", id, "KILL"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(eventually([&] {
    for (int p : pids)
      if (alive(p)) return false;
    return true;
  }));
  // Again, with nothing left in the cgroup: still a success.
  r = rt({"kill", "--all", id, "KILL"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
  // Gone: an error, as before.
  EXPECT_NE(rt({"kill", "--all", id, "KILL"}).exit_code, 0);
}

TEST(Lifecycle, DeleteForceStopsARunningContainer) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("force");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  auto r = rt({"delete", "--force", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Lifecycle, DeleteOfCreatedContainerNeedsNoForce) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("created");
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), id}).exit_code, 0);
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Lifecycle, ListAndPs) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("list");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  int pid = state_of(rt, id)["pid"];

  auto r = rt({"list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("ID", 0), 0u) << r.out;
  for (const char* col : {"PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}) EXPECT_NE(r.out.find(col), std::string::npos);
  EXPECT_NE(r.out.find(id), std::string::npos);
  EXPECT_NE(r.out.find("running"), std::string::npos);
  // OWNER: the state file's owner by name (we run as root), as runc shows.
  EXPECT_NE(r.out.find(" root\n"), std::string::npos) << r.out;

  r = rt({"list", "-q"});
  EXPECT_EQ(r.out, id + "\n");
  r = rt({"list", "--format", "json"});
  json l = json::parse(r.out);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["id"], id);
  EXPECT_EQ(l[0]["pid"], pid);
  EXPECT_EQ(l[0]["owner"], "root");

  r = rt({"ps", "--format", "json", id});
  EXPECT_EQ(json::parse(r.out), json::array({pid}));
  r = rt({"ps", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("PID"), std::string::npos);
  EXPECT_NE(r.out.find(std::to_string(pid)), std::string::npos) << r.out;
  EXPECT_EQ(rt({"delete", "-f", id}).exit_code, 0);
  EXPECT_EQ(rt({"list", "--format", "json"}).out, "[]\n");
}

TEST(Lifecycle, PauseFreezesAndResumeThaws) {
  BERTH_REQUIRE_BUSYBOX();
  TempDir out;
  Bundle b;
  share_dir(b, out.path());
  b.set_args({"sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > " + out.path() + "/n.tmp; mv " + out.path() +
                              "/n.tmp " + out.path() + "/n; done"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("pause");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return path_exists(out.path() + "/n"); }));
  auto r = rt({"pause", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(state_of(rt, id)["status"], "paused");
  // Frozen by the kernel: the freezer says so and the counter stands still.
  // (The v1 freezer where there is one: a hybrid host's v2 dir is not the
  // one pause uses, as with runc.)
  auto dirs = cgroup_dirs(id);
  bool saw_freezer = false;
  for (auto& d : dirs) {
    if (path_exists(d + "/freezer.state")) {
      saw_freezer = true;
      EXPECT_EQ(slurp(d + "/freezer.state"), "FROZEN\n");
    }
  }
  for (auto& d : dirs) {
    if (!saw_freezer && path_exists(d + "/cgroup.freeze")) {
      saw_freezer = true;
      EXPECT_EQ(slurp(d + "/cgroup.freeze"), "1\n");
    }
  }
  EXPECT_TRUE(saw_freezer);
  std::string a = slurp(out.path() + "/n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(slurp(out.path() + "/n"), a);
  EXPECT_NE(rt({"pause", id}).exit_code, 0);  // already paused
  EXPECT_NE(rt({"delete", id}).exit_code, 0);

  r = rt({"resume", id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(state_of(rt, id)["status"], "running");
  EXPECT_TRUE(eventually([&] { return slurp(out.path() + "/n") != a; }));
  EXPECT_NE(rt({"resume", id}).exit_code, 0);  // not paused
  // A paused container can be force-deleted too.
  ASSERT_EQ(rt({"pause", id}).exit_code, 0);
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Lifecycle, ErrorsGoToTheJsonLog) {
  TempDir logdir;
  Runtime rt;
  std::string log = logdir.path() + "/log.json";
  auto r = rt({"--log", log, "--log-format", "json", "delete", "no-such-container"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "berth-runtime: container no-such-container does not exist\n");
  std::string text = slurp(log);
  ASSERT_FALSE(text.empty());
  json line = json::parse(text.substr(0, text.find('\n')));
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["msg"], "container no-such-container does not exist");
}

// Where systemd does not run (this machine): one line naming the flag.
// (Against a real systemd: tests/e2e/runtime_cri_systemd.sh.)
TEST(Lifecycle, SystemdCgroupWithoutSystemdIsAClearError) {
  if (path_exists("/run/systemd/system")) GTEST_SKIP() << "systemd runs here";
  Runtime rt;
  auto r = rt({"--systemd-cgroup", "create", "--bundle", "/nonexistent", "x"});
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_EQ(count_lines(r.err), 1);
  EXPECT_NE(r.err.find("--systemd-cgroup"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("systemd is not running"), std::string::npos) << r.err;
}

TEST(Lifecycle, SpecFeaturesVersion) {
  TempDir dir;
  Runtime rt;
  auto r = rt({"spec", "--bundle", dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json spec = json::parse(slurp(dir.path() + "/config.json"));
  EXPECT_EQ(spec["process"]["args"], json::array({"sh"}));
  EXPECT_EQ(spec["root"]["path"], "rootfs");
  EXPECT_NE(rt({"spec", "--bundle", dir.path()}).exit_code, 0);  // exists

  r = rt({"features"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json f = json::parse(r.out);
  EXPECT_EQ(f["ociVersionMin"], "1.0.0");
  EXPECT_EQ(f["ociVersionMax"], "1.3.0");
  EXPECT_EQ(f["hooks"].size(), 6u);
  EXPECT_NE(std::find(f["linux"]["namespaces"].begin(), f["linux"]["namespaces"].end(), "time"),
            f["linux"]["namespaces"].end());
  EXPECT_TRUE(f["linux"]["seccomp"]["enabled"]);
  EXPECT_EQ(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);  // wired: Mounts.Idmap* tests

  r = rt({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("berth-runtime version"), std::string::npos);
}

TEST(Lifecycle, PreserveFdsPassesOnlyThoseFds) {
  BERTH_REQUIRE_BUSYBOX();
  TempDir dir;
  {
    std::ofstream(dir.path() + "/three") << "fd three\n";
    std::ofstream(dir.path() + "/four") << "fd four\n";
  }
  Bundle b;
  b.set_args({"sh", "-c", "cat <&3; cat <&4 || echo no-fd-4"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("fds");
  auto r = run_command({"sh", "-c", rt.binary + " --root " + rt.root() + " run --preserve-fds 1 --bundle " +
                                        b.path() + " " + id + " 3<" + dir.path() + "/three 4<" + dir.path() +
                                        "/four"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "fd three\nno-fd-4\n");
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Lifecycle, OomScoreAdjAndSessionKeyring) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["process"]["oomScoreAdj"] = 321;
  b.set_args({"sh", "-c", "cat /proc/self/oom_score_adj; grep -c _ses /proc/keys || true"});
  b.config["linux"]["maskedPaths"] = json::array();
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("oom");
  auto r = rt({"run", "--bundle", b.path(), id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 4), "321\n") << r.out;
}

TEST(Lifecycle, NoPivotUsesChroot) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sh", "-c", "echo ok; cat /etc/hostname"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("nopivot");
  auto r = rt({"run", "--no-pivot", "--bundle", b.path(), id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ok\nberth\n");
  EXPECT_NO_LEFTOVERS(rt, b, id);
}
