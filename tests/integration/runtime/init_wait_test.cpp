// A `create` whose init shared the runtime's memory waits for `start` in
// berth-init-wait (runtime/init_wait.hpp): the process settings are applied
// at create (as runc's init does before its fifo), the noNewPrivileges
// seccomp filter after start, and the process ends up exactly as `run`'s.
#include "runtime_checks.hpp"

using namespace berth::testing;
using nlohmann::json;

namespace {

// `create`, `start`, wait for the process to exit; its output.
std::string create_start_output(Bundle& b, const std::string& id) {
  Runtime rt;
  auto r = run_detached(rt, {"create", "--bundle", b.path(), id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The output goes where the init's stdout goes: a file in the rootfs.
  EXPECT_EQ(rt({"start", id}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return state_of(rt, id)["status"] == "stopped"; }));
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
  return slurp(b.rootfs() + "/tmp/out");
}

// The "Key:\t..." line of a /proc/<pid>/status text, or "".
std::string status_line(const std::string& status, const std::string& key) {
  std::string text = "\n" + status;
  size_t at = text.find("\n" + key + ":");
  if (at == std::string::npos) return "";
  size_t end = text.find('\n', at + 1);
  return text.substr(at + 1, end - at - 1);
}

}  // namespace

TEST(InitWait, ProcessSettingsAtCreateSeccompAfterStart) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["root"]["readonly"] = false;
  b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  b.config["process"]["noNewPrivileges"] = true;
  b.config["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls", json::array({{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}})}};
  b.set_args({"sh", "-c", "mkdir /tmp/x 2>/dev/null && echo made || echo refused; exec sleep 1000"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("iwsec");
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), id}).exit_code, 0);
  int pid = state_of(rt, id)["pid"];
  std::string created = slurp("/proc/" + std::to_string(pid) + "/status");
  EXPECT_EQ(status_line(created, "Uid"), "Uid:\t1000\t1000\t1000\t1000") << created;
  EXPECT_EQ(status_line(created, "NoNewPrivs"), "NoNewPrivs:\t1") << created;
  EXPECT_EQ(status_line(created, "Seccomp"), "Seccomp:\t0") << "the filter is loaded after start";

  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  std::string started;
  ASSERT_TRUE(eventually([&] {
    started = slurp("/proc/" + std::to_string(pid) + "/status");
    return status_line(started, "Name") == "Name:\tsleep";
  })) << started;
  EXPECT_EQ(status_line(started, "Seccomp"), "Seccomp:\t2") << started;
  EXPECT_FALSE(path_exists(b.rootfs() + "/tmp/x")) << "mkdir got through the filter";
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

// Capabilities and credentials after create + start (two execs: init-wait,
// then the process) are those `run` gives (one exec), for root and non-root;
// and no descriptor of the runtime or berth-init-wait (fifo, seccomp memfd)
// reaches the process.
TEST(InitWait, CredentialsMatchRun) {
  BERTH_REQUIRE_BUSYBOX();
  for (int uid : {0, 1000}) {
    SCOPED_TRACE("uid " + std::to_string(uid));
    Bundle b;
    b.config["root"]["readonly"] = false;
    b.config["process"]["user"] = {{"uid", uid}, {"gid", uid}, {"additionalGids", {5, 6}}};
    json caps = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    b.config["process"]["capabilities"] = {{"bounding", caps},
                                           {"effective", caps},
                                           {"permitted", caps},
                                           {"inheritable", {"CAP_KILL"}},
                                           {"ambient", {"CAP_KILL"}}};
    b.set_args({"sh", "-c",
                "grep -E '^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/self/status > /tmp/out; "
                "pwd >> /tmp/out; umask >> /tmp/out; ls /proc/self/fd | tr '\\n' ' ' >> /tmp/out"});
    b.config["process"]["cwd"] = "/etc";
    b.write();
    std::string via_create = create_start_output(b, Runtime::unique_id("iwcred"));
    Runtime rt;
    std::string id = Runtime::unique_id("runcred");
    auto r = rt({"run", "--bundle", b.path(), id});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string via_run = slurp(b.rootfs() + "/tmp/out");
    EXPECT_NE(via_run.find("CapAmb:"), std::string::npos) << via_run;
    EXPECT_NE(via_run.find("/etc"), std::string::npos) << via_run;
    EXPECT_NE(via_run.find("0 1 2 3 "), std::string::npos) << via_run;  // 3: ls's own directory fd
    EXPECT_EQ(via_run.find("0 1 2 3 4"), std::string::npos) << via_run;
    EXPECT_EQ(via_create, via_run);
  }
}

// Without noNewPrivileges the filter is loaded at create, before the
// capabilities are dropped (it needs CAP_SYS_ADMIN), so berth-init-wait is
// exec'd under it: a profile that forbids execveat still starts (through
// /proc/self/fd), and the filter holds for the process.
TEST(InitWait, FilterLoadedAtCreateThatForbidsExecveat) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["root"]["readonly"] = false;
  b.config["process"]["noNewPrivileges"] = false;
  b.config["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls", json::array({{{"names", {"execveat", "mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"},
                                 {"errnoRet", 1}}})}};
  b.set_args({"sh", "-c", "mkdir /tmp/x 2>/dev/null && echo made > /tmp/out || echo refused > /tmp/out"});
  b.write();
  EXPECT_EQ(create_start_output(b, Runtime::unique_id("iwexa")), "refused\n");
}

// Errors of the process settings now come at create, in one line, with
// nothing left behind (they came at start before, from the waiting init).
TEST(InitWait, SettingsErrorsFailCreateCleanly) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["process"]["cwd"] = "/no/such/dir";
  b.set_args({"true"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("iwbad");
  auto r = run_detached(rt, {"create", "--bundle", b.path(), id});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("process.cwd"), std::string::npos) << r.err;
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

// The executable is resolved at create; if it is gone by `start`, `start`
// fails with berth-init-wait's error (which the container's stderr gets
// too), and the container is stopped.
TEST(InitWait, ExecutableGoneByStart) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["root"]["readonly"] = false;
  ASSERT_EQ(std::system(("cp " + b.rootfs() + "/bin/busybox " + b.rootfs() + "/bin/doomed").c_str()), 0);
  b.set_args({"/bin/doomed", "true"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("iwgone");
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), id}).exit_code, 0);
  ASSERT_EQ(::unlink((b.rootfs() + "/bin/doomed").c_str()), 0);
  auto r = rt({"start", id});
  EXPECT_EQ(r.exit_code, 3) << r.err;  // not found
  EXPECT_EQ(r.err, "berth-runtime: start container " + id + ": exec /bin/doomed: ENOENT (No such file or directory)\n");
  EXPECT_TRUE(eventually([&] { return state_of(rt, id)["status"] == "stopped"; }));
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

// A created container killed before `start` (SIGKILL reaches berth-init-wait
// as pid 1 from outside) is stopped and deletes cleanly.
TEST(InitWait, KilledBeforeStart) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("iwkill");
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), id}).exit_code, 0);
  EXPECT_EQ(rt({"kill", id, "KILL"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return state_of(rt, id)["status"] == "stopped"; }));
  EXPECT_NE(rt({"start", id}).exit_code, 0);
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

// An init cloned fork-like (here: a prestart hook, which the runtime runs
// between the clone and the execve; a user namespace, whose id maps it
// writes) waits in berth-init-wait as well, so `create` needs no sealed view
// of the runtime for it either (Docker adds a prestart hook to every
// container).
TEST(InitWait, ForkLikeInitsWaitThereToo) {
  BERTH_REQUIRE_BUSYBOX();
  for (const char* variant : {"prestart hook", "user namespace"}) {
    SCOPED_TRACE(variant);
    TempDir host;
    Bundle b;
    b.config["root"]["readonly"] = false;
    if (std::string(variant) == "prestart hook") {
      b.config["hooks"]["prestart"] =
          json::array({{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo ran > " + host.path() + "/prestart"}}}});
    } else {
      b.config["linux"]["namespaces"].push_back({{"type", "user"}});
      b.config["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 300000}, {"size", 65536}}});
      b.config["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 300000}, {"size", 65536}}});
      auto& mounts = b.config["mounts"];
      for (size_t i = 0; i < mounts.size(); ++i)
        if (mounts[i]["destination"] == "/sys/fs/cgroup") mounts.erase(i--);
      ::chmod(b.path().c_str(), 0755);
      ASSERT_EQ(std::system(("chown -R 300000:300000 " + b.rootfs()).c_str()), 0);
    }
    b.set_args({"sh", "-c", "id -u > /tmp/out; exec sleep 1000"});
    b.write();
    Runtime rt;
    std::string id = Runtime::unique_id("iwfork");
    ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), id}).exit_code, 0);
    EXPECT_EQ(proc_link(state_of(rt, id)["pid"], "exe"), "/memfd:berth-init-wait (deleted)");
    if (std::string(variant) == "prestart hook") {
      EXPECT_EQ(slurp(host.path() + "/prestart"), "ran\n");
    }
    ASSERT_EQ(rt({"start", id}).exit_code, 0);
    EXPECT_TRUE(eventually([&] { return slurp(b.rootfs() + "/tmp/out") == "0\n"; })) << slurp(b.rootfs() + "/tmp/out");
    EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
    EXPECT_NO_LEFTOVERS(rt, b, id);
  }
}
