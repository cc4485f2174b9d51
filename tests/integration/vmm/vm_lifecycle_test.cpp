// Detached VMs and their records: -d, ls, inspect, console, stop, kill, rm,
// the disk lock between two VMs and the VMM's cgroup.
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "vm_support.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

json inspect(VmEnv& env, const std::string& name) {
  CmdResult r = env.vm({"inspect", name});
  EXPECT_EQ(r.status, 0) << r.err;
  return json::parse(r.out, nullptr, false);
}

// The record says the VM ended, and why.
void expect_ended(VmEnv& env, const std::string& name, const std::string& reason) {
  json j = inspect(env, name);
  EXPECT_EQ(j["State"], "stopped") << j.dump();
  EXPECT_EQ(j["ExitReason"], reason) << j.dump();
}

// `berth vm run --name NAME` of the idle guest in the foreground, in the
// background of this test (output to cli.out); returns the VMM's pid once
// the guest is up.
int start_foreground_idle(VmEnv& env, const std::string& name, pid_t* cli) {
  *cli = spawn_background({berth_bin(), "--root", env.root(), "--state", env.state(), "vm", "run", "--name", name,
                           "--kernel", guest("idle"), "--no-rng"},
                          env.path("cli.out"));
  int vmm = 0;
  bool up = eventually([&] {
    json j = json::parse(env.vm({"inspect", name}).out, nullptr, false);
    if (!j.is_object() || !j["Pid"].is_number()) return false;
    vmm = j["Pid"];
    return has(read_all(env.path("cli.out")), "idle guest up");
  });
  EXPECT_TRUE(up) << read_all(env.path("cli.out"));
  return up ? vmm : 0;
}

TEST(VmLifecycle, DetachedRunListStopRemove) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult r = env.vm({"run", "-d", "--name", "idler", "--kernel", guest("idle"), "--memory", "64M", "--cpus", "2"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "idler\n");

  json j = inspect(env, "idler");
  EXPECT_EQ(j["State"], "running");
  ASSERT_TRUE(j["Pid"].is_number());
  int pid = j["Pid"];
  EXPECT_EQ(::kill(pid, 0), 0);
  EXPECT_EQ(j["Config"]["cpus"], 2);
  EXPECT_EQ(j["Config"]["memory"], 64 << 20);

  // The console log fills as the guest writes.
  std::string log;
  for (int i = 0; i < 200 && !has(log, "idle guest up"); ++i) {
    usleep(10000);
    log = read_all(j["ConsoleLog"]);
  }
  EXPECT_TRUE(has(log, "idle guest up")) << log;

  // The VMM sits in its own cgroup: guest RAM + overhead, --cpus of CPU.
  std::string cg = j["Cgroup"];
  ASSERT_EQ(cg.rfind("berth/vm-idler.", 0), 0u) << cg;
  std::string mem_cg = "/sys/fs/cgroup/memory/" + cg;
  // A helper thread of the VMM creates the group once the guest runs.
  eventually([&] {
    return has(read_all(mem_cg + "/memory.limit_in_bytes"), std::to_string((64ull << 20) + (64ull << 20))) ||
           ::access(("/sys/fs/cgroup/" + cg + "/memory.max").c_str(), F_OK) == 0;
  });
  if (::access(mem_cg.c_str(), F_OK) == 0) {
    EXPECT_EQ(std::stoull(read_all(mem_cg + "/memory.limit_in_bytes")), (64ull << 20) + (64ull << 20));
    // The VMM joins concurrently with boot: give it a moment.
    for (int i = 0; i < 200 && !has(read_all(mem_cg + "/cgroup.procs"), std::to_string(pid)); ++i) usleep(10000);
    EXPECT_TRUE(has(read_all(mem_cg + "/cgroup.procs"), std::to_string(pid)));
    EXPECT_EQ(read_all("/sys/fs/cgroup/cpu/" + cg + "/cpu.cfs_quota_us"), "200000\n");
  } else if (::access(("/sys/fs/cgroup/" + cg + "/memory.max").c_str(), F_OK) == 0) {
    EXPECT_EQ(std::stoull(read_all("/sys/fs/cgroup/" + cg + "/memory.max")), 128ull << 20);
  } else {
    ADD_FAILURE() << "no cgroup for the VMM";
  }

  CmdResult ls = env.vm({"ls"});
  EXPECT_TRUE(has(ls.out, "idler")) << ls.out;
  EXPECT_TRUE(has(ls.out, "running")) << ls.out;

  CmdResult dup = env.vm({"run", "-d", "--name", "idler", "--kernel", guest("idle")});
  EXPECT_EQ(dup.status, 4);
  EXPECT_TRUE(has(dup.err, "vm idler already exists")) << dup.err;
  // The second VMM built its VM but never got "go": the first VM's console
  // socket, record and cgroup are untouched.
  EXPECT_EQ(::access(j["ConsoleSocket"].get<std::string>().c_str(), F_OK), 0);
  EXPECT_EQ(inspect(env, "idler")["Pid"], pid);

  CmdResult rm_running = env.vm({"rm", "idler"});
  EXPECT_EQ(rm_running.status, 5);
  EXPECT_TRUE(has(rm_running.err, "vm idler is running; stop it first")) << rm_running.err;

  ASSERT_EQ(env.vm({"stop", "idler"}).status, 0);
  EXPECT_TRUE(process_exited(pid));  // the VMM is gone
  j = inspect(env, "idler");
  EXPECT_EQ(j["State"], "stopped");
  EXPECT_EQ(j["ExitReason"], "stopped");
  EXPECT_EQ(::access(mem_cg.c_str(), F_OK), -1);  // cgroup removed

  CmdResult again = env.vm({"stop", "idler"});
  EXPECT_EQ(again.status, 5);
  EXPECT_TRUE(has(again.err, "vm idler is not running")) << again.err;

  ASSERT_EQ(env.vm({"rm", "idler"}).status, 0);
  CmdResult gone = env.vm({"inspect", "idler"});
  EXPECT_EQ(gone.status, 3);
  EXPECT_TRUE(has(gone.err, "vm idler not found")) << gone.err;
}

// --rm: the record and its directories go when the VM ends; detached, the
// VMM runs `berth vm rm` itself once it has written its exit record.
TEST(VmLifecycle, RmRemovesTheRecordWhenTheVmEnds) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  CmdResult fg = env.vm({"run", "--rm", "--name", "fg", "--kernel", guest("reset")});
  EXPECT_EQ(fg.status, 0) << fg.err;
  EXPECT_EQ(env.vm({"inspect", "fg"}).status, 3);
  EXPECT_FALSE(std::filesystem::exists(env.root() + "/vms/fg"));

  ASSERT_EQ(env.vm({"run", "-d", "--rm", "--name", "bg", "--kernel", guest("idle")}).status, 0);
  EXPECT_EQ(inspect(env, "bg")["Config"]["rm"], true);
  ASSERT_EQ(env.vm({"stop", "bg"}).status, 0);
  EXPECT_TRUE(eventually([&] { return env.vm({"inspect", "bg"}).status == 3; })) << env.vm({"inspect", "bg"}).out;
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(env.root() + "/vms/bg"); }));

  // Killed, its VMM cannot run `vm rm`: `vm kill` removes it.
  ASSERT_EQ(env.vm({"run", "-d", "--rm", "--name", "k", "--kernel", guest("idle")}).status, 0);
  ASSERT_EQ(env.vm({"kill", "k"}).status, 0);
  EXPECT_EQ(env.vm({"inspect", "k"}).status, 3);

  // Without --rm the record stays.
  ASSERT_EQ(env.vm({"run", "--name", "keep", "--kernel", guest("reset")}).status, 0);
  expect_ended(env, "keep", "reset");
}

// `vm logs` prints a detached VM's console log; -f follows it to the end.
TEST(VmLifecycle, LogsPrintsAndFollowsTheConsole) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  ASSERT_EQ(env.vm({"run", "-d", "--name", "l", "--kernel", guest("counter"), "--memory", "32M"}).status, 0);
  ASSERT_TRUE(eventually([&] { return has(env.vm({"logs", "l"}).out, "count 64"); }, 20000));
  CmdResult once = env.vm({"logs", "l"});
  EXPECT_EQ(once.status, 0);
  EXPECT_TRUE(has(once.out, "counter up")) << once.out;

  pid_t f = spawn_background({berth_bin(), "--root", env.root(), "--state", env.state(), "vm", "logs", "-f", "l"},
                             env.path("follow.out"));
  ASSERT_TRUE(eventually([&] { return has(read_all(env.path("follow.out")), "count 128"); }, 20000));
  EXPECT_FALSE(process_exited(f)) << "logs -f returned while the VM runs";
  ASSERT_EQ(env.vm({"stop", "l"}).status, 0);
  int status = 0;
  bool ended = eventually([&] { return ::waitpid(f, &status, WNOHANG) == f; });
  if (!ended) ::kill(f, SIGKILL);
  EXPECT_TRUE(ended) << "logs -f did not end with the VM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(read_all(env.path("follow.out")), read_all(env.root() + "/vms/l/console.log"));

  ASSERT_EQ(env.vm({"run", "--name", "fgl", "--kernel", guest("reset")}).status, 0);
  CmdResult fgl = env.vm({"logs", "fgl"});
  EXPECT_EQ(fgl.status, 5);
  EXPECT_TRUE(has(fgl.err, "vm fgl ran in the foreground")) << fgl.err;
  EXPECT_EQ(env.vm({"logs", "nosuch"}).status, 3);
}

TEST(VmLifecycle, KillMarksTheRecord) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  ASSERT_EQ(env.vm({"run", "-d", "--name", "k", "--kernel", guest("idle")}).status, 0);
  ASSERT_EQ(env.vm({"kill", "k"}).status, 0);
  expect_ended(env, "k", "killed");
}

TEST(VmLifecycle, ConsoleAttachesToADetachedVm) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  ASSERT_EQ(env.vm({"run", "-d", "--name", "e", "--kernel", guest("echo")}).status, 0);
  CmdResult c = env.vm({"console", "e"}, "over the socket\nquit\n", 20);
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_TRUE(has(c.out, "echo: OVER THE SOCKET")) << c.out;
  // The guest powered off after "quit"; the monitor recorded it.
  json j;
  for (int i = 0; i < 200; ++i) {
    j = inspect(env, "e");
    if (j["State"] == "stopped") break;
    usleep(10000);
  }
  EXPECT_EQ(j["ExitReason"], "poweroff");
  EXPECT_TRUE(has(read_all(j["ConsoleLog"]), "echo: OVER THE SOCKET"));
}

TEST(VmLifecycle, OneDiskCannotBeOpenedReadWriteByTwoVms) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  std::string disk = env.path("shared.img");
  { std::ofstream(disk) << std::string(1 << 20, '\0'); }
  ASSERT_EQ(env.vm({"run", "-d", "--name", "a", "--kernel", guest("idle"), "--disk", disk}).status, 0);
  CmdResult b = env.vm({"run", "-d", "--name", "b", "--kernel", guest("idle"), "--disk", disk});
  EXPECT_EQ(b.status, 5);
  EXPECT_TRUE(has(b.err, "disk " + disk + " is in use by another VM (locked)")) << b.err;
  CmdResult fg = env.vm({"run", "--kernel", guest("idle"), "--disk", disk + ",ro"});
  EXPECT_EQ(fg.status, 5);
  EXPECT_TRUE(has(fg.err, "is in use by another VM (locked)")) << fg.err;
  CmdResult ls = env.vm({"ls"});
  EXPECT_FALSE(has(ls.out, "\nb ")) << ls.out;  // no record left by the failed run
  ASSERT_EQ(env.vm({"stop", "a"}).status, 0);
  // Once the first VM is gone the disk is free again.
  CmdResult c = env.vm({"run", "--kernel", guest("virtio_blk"), "--disk", disk});
  EXPECT_EQ(c.status, 0) << c.out << c.err;
}

// The VMM is its own small executable: static (no shared library, so no
// SQLite or libstdc++ pages), and not the CLI that started it.
TEST(VmLifecycle, TheVmmIsTheLeanBerthVmmProcess) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  ASSERT_EQ(env.vm({"run", "-d", "--name", "lean", "--kernel", guest("idle"), "--no-rng"}).status, 0);
  json j = inspect(env, "lean");
  ASSERT_TRUE(j["Pid"].is_number());
  int pid = j["Pid"];
  char exe[4096] = {};
  ASSERT_GT(::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), exe, sizeof exe - 1), 0);
  EXPECT_EQ(std::string(exe), build_dir() + "/bin/berth-vmm");
  std::string maps = read_all("/proc/" + std::to_string(pid) + "/maps");
  EXPECT_FALSE(has(maps, ".so")) << maps;
  EXPECT_FALSE(has(maps, "sqlite")) << maps;
  // Only the console socket and log, the VM's fds and stdio: nothing of the CLI.
  std::string fds = run_cmd({"/bin/ls", "-l", "/proc/" + std::to_string(pid) + "/fd"}).out;
  EXPECT_FALSE(has(fds, "berth.db")) << fds;
  ASSERT_EQ(env.vm({"stop", "lean"}).status, 0);
}

// berth-vmm is not for typing, but bad input still gets one clear line.
TEST(VmLifecycle, BerthVmmAloneRejectsBadInput) {
  std::string vmm = build_dir() + "/bin/berth-vmm";
  CmdResult none = run_cmd({vmm});
  EXPECT_EQ(none.status, 2);
  EXPECT_EQ(none.err, "berth-vmm: usage: berth-vmm --config-fd N [--report-fd M] (started by 'berth vm run')\n");
  CmdResult bad = run_cmd({"/bin/sh", "-c", "echo '{\"name\":1}' | " + vmm + " --config-fd 0"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_TRUE(has(bad.err, "berth-vmm: VM launch config:")) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  CmdResult gave_up = run_cmd({"/bin/sh", "-c", vmm + " --config-fd 0 < /dev/null"});
  EXPECT_EQ(gave_up.status, 0);  // no config: its starter gave up
  EXPECT_EQ(gave_up.err, "");
}

// The CLI of a foreground VM can die: the VM lives on, stays listed with
// its VMM's pid, and its end is recorded from the VMM's exit record.
TEST(VmLifecycle, ForegroundVmOutlivesItsCli) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  pid_t cli = 0;
  int vmm = start_foreground_idle(env, "fg", &cli);
  ASSERT_GT(vmm, 0);
  EXPECT_NE(vmm, cli);
  ::kill(cli, SIGKILL);
  int st = 0;
  ::waitpid(cli, &st, 0);
  EXPECT_EQ(::kill(vmm, 0), 0);  // the VM lives
  EXPECT_EQ(inspect(env, "fg")["State"], "running");
  ASSERT_EQ(env.vm({"stop", "fg"}).status, 0);
  expect_ended(env, "fg", "stopped");
  EXPECT_TRUE(has(inspect(env, "fg")["ExitDetail"].get<std::string>(), "signal"));
}

// A VMM that dies without reporting (SIGKILL) ends its foreground run with
// status 1 and a record that says so.
TEST(VmLifecycle, ForegroundCliRecordsAKilledVmm) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  pid_t cli = 0;
  int vmm = start_foreground_idle(env, "kv", &cli);
  ASSERT_GT(vmm, 0);
  ::kill(vmm, SIGKILL);
  int st = 0;
  ASSERT_EQ(::waitpid(cli, &st, 0), cli);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) << st;
  EXPECT_TRUE(has(read_all(env.path("cli.out")), "berth: vm kv ended: killed (VMM killed by signal")) << read_all(env.path("cli.out"));
  expect_ended(env, "kv", "killed");
  // The dead VMM's cgroup is removed by the CLI that saw it die.
  std::string cg = inspect(env, "kv")["Cgroup"];
  for (const char* h : {"/sys/fs/cgroup/memory/", "/sys/fs/cgroup/cpu/", "/sys/fs/cgroup/"})
    EXPECT_NE(::access((h + cg).c_str(), F_OK), 0) << h << cg;
}

// A foreground run returns as soon as the guest is off; the VMM then tears
// KVM down in the background. What the VM held must be free at once (the
// disk lock) and everything else soon after (process, cgroup), reliably.
TEST(VmLifecycle, TeardownAfterTheReportLeavesNothingBehind) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  std::string disk = env.path("d.img");
  { std::ofstream(disk) << std::string(1 << 20, '\0'); }
  for (int i = 0; i < 3; ++i) {
    std::string name = "t" + std::to_string(i);
    CmdResult r = env.vm({"run", "--name", name, "--kernel", guest("virtio_blk"), "--disk", disk});
    ASSERT_EQ(r.status, 0) << r.out << r.err;  // the previous VM's disk lock is already gone
    EXPECT_TRUE(has(r.out, "RESULT PASS")) << r.out;
    expect_ended(env, name, "poweroff");
  }
  // Every VMM left its cgroup and removed it.
  std::string cg = inspect(env, "t2")["Cgroup"];
  for (const char* h : {"/sys/fs/cgroup/memory/", "/sys/fs/cgroup/cpu/", "/sys/fs/cgroup/"}) {
    for (int i = 0; i < 3; ++i) {
      std::string dir = h + std::string("berth/vm-t") + std::to_string(i) + cg.substr(cg.rfind('.'));
      EXPECT_TRUE(eventually([&] { return ::access(dir.c_str(), F_OK) != 0; })) << dir << " still exists";
    }
  }
  // ...and exited (their exit records name them).
  for (int i = 0; i < 3; ++i) {
    json rec = json::parse(read_all(env.root() + "/vms/t" + std::to_string(i) + "/exit.json"), nullptr, false);
    ASSERT_TRUE(rec.is_object() && rec["pid"].is_number()) << rec;
    EXPECT_EQ(rec["reason"], "poweroff");
    EXPECT_TRUE(eventually([&] { return process_exited(rec["pid"].get<int>()); }));
  }
}

}  // namespace
}  // namespace berth::testing
