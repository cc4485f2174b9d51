// Pause, snapshot and restore through `berth vm`, with the counter guest:
// it counts in a register and across 256 pages of RAM, checks every page
// each round and prints "count N" every 64 rounds (with its other CPUs'
// counts), so the console log itself proves that it carried on: counts
// that follow each other by 64 across the snapshot, never from the start
// again, and no "MISMATCH". Bad snapshots get one clear line each and leave
// no record, socket directory or cgroup behind.
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "vm_support.hpp"
#include "vmm/snapshot_file.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

json inspect(VmEnv& env, const std::string& name) {
  return json::parse(env.vm({"inspect", name}).out, nullptr, false);
}

// Nothing is left of a VM that never started: no record, no socket
// directory, no cgroup in any hierarchy.
void expect_no_trace(VmEnv& env, const std::string& name) {
  EXPECT_EQ(env.vm({"inspect", name}).status, 3) << name;
  EXPECT_FALSE(std::filesystem::exists(env.state() + "/vms/" + name)) << name;
  EXPECT_FALSE(std::filesystem::exists(env.root() + "/vms/" + name)) << name;
  std::error_code ec;
  for (const auto& h : std::filesystem::directory_iterator("/sys/fs/cgroup", ec))
    for (const auto& g : std::filesystem::directory_iterator(h.path() / "berth", ec))
      EXPECT_NE(g.path().filename().string().rfind("vm-" + name + ".", 0), 0u) << g.path();
}

void expect_one_line(const CmdResult& r, const std::string& what, int status) {
  EXPECT_EQ(r.status, status) << r.err;
  EXPECT_TRUE(has(r.err, what)) << "want '" << what << "' in: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(VmSnapshot, PauseStopsTheGuestAndResumeCarriesOn) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  ASSERT_EQ(env.vm({"run", "-d", "--name", "p", "--kernel", guest("counter"), "--cpus", "2", "--memory", "64M"}).status, 0);
  ASSERT_TRUE(wait_count(env, "p", 128)) << console_log(env, "p");

  CmdResult pause = env.vm({"pause", "p"});
  ASSERT_EQ(pause.status, 0) << pause.err;
  EXPECT_EQ(inspect(env, "p")["State"], "paused");
  EXPECT_TRUE(has(env.vm({"ls"}).out, "paused"));
  std::string before = console_log(env, "p");
  ::usleep(400000);
  EXPECT_EQ(console_log(env, "p"), before) << "the guest ran while paused";
  EXPECT_EQ(env.vm({"pause", "p"}).status, 0);  // already paused: fine

  ASSERT_EQ(env.vm({"resume", "p"}).status, 0);
  EXPECT_EQ(inspect(env, "p")["State"], "running");
  ASSERT_TRUE(wait_count(env, "p", last_count(before) + 128)) << console_log(env, "p");
  expect_carried_on(console_log(env, "p"), 2);

  // A paused VM still stops.
  int pid = inspect(env, "p")["Pid"];
  ASSERT_EQ(env.vm({"pause", "p"}).status, 0);
  ASSERT_EQ(env.vm({"stop", "p"}).status, 0);
  EXPECT_TRUE(process_exited(pid));
  EXPECT_EQ(inspect(env, "p")["ExitReason"], "stopped");
  CmdResult again = env.vm({"resume", "p"});
  EXPECT_EQ(again.status, 5);
  EXPECT_TRUE(has(again.err, "vm p is not running")) << again.err;
}

// Two vCPUs, a disk and a channel: the count, the other CPU's count, the
// disk writes and the channel all carry on in the restored VM.
TEST(VmSnapshot, SnapshotStopAndRestoreCarryOnWhereItWas) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  std::string disk = env.path("disk.img"), snap = env.path("snap");
  { std::ofstream(disk) << std::string(1 << 20, '\0'); }
  ASSERT_EQ(env.vm({"run", "-d", "--name", "src", "--kernel", guest("counter"), "--cpus", "2", "--memory", "64M",
                    "--disk", disk, "--channel", "unix"}).status, 0);
  ASSERT_TRUE(wait_count(env, "src", 128)) << console_log(env, "src");
  int src_pid = inspect(env, "src")["Pid"];

  CmdResult s = env.vm({"snapshot", "src", snap, "--stop"});
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_TRUE(has(s.out, "guest paused")) << s.out;
  json j = inspect(env, "src");
  EXPECT_EQ(j["State"], "stopped");
  EXPECT_EQ(j["ExitReason"], "snapshotted");
  EXPECT_TRUE(process_exited(src_pid));
  struct stat st{};
  ASSERT_EQ(::stat((snap + "/memory").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 64 << 20);
  EXPECT_LT(st.st_blocks * 512, 16 << 20) << "memory file is not sparse";
  std::string src_log = console_log(env, "src");
  uint64_t at_snapshot = last_count(src_log);

  CmdResult r = env.vm({"restore", snap, "--name", "dst", "-d"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "dst\n");
  ASSERT_TRUE(wait_count(env, "dst", at_snapshot + 192)) << console_log(env, "dst");
  std::string dst_log = console_log(env, "dst");
  EXPECT_FALSE(has(dst_log, "counter up")) << "the restored guest booted again:\n" << dst_log;
  // One log, as if the VM had never stopped: a line the snapshot cut in two
  // is joined by putting the logs end to end.
  expect_carried_on(src_log + dst_log, 2);

  // The disk's sector 1 gets the restored guest's writes.
  EXPECT_TRUE(eventually([&] {
    std::string sector = read_all(disk).substr(512, 32);
    return sector.rfind("count ", 0) == 0 && std::stoull(sector.substr(6)) > at_snapshot;
  })) << read_all(disk).substr(512, 32);
  // The channel is a new socket; a client connects and gets the count.
  std::string sock = inspect(env, "dst")["Config"]["channel"];
  EXPECT_EQ(sock, env.state() + "/vms/dst/channel.sock");
  UniqueFd c = connect_channel(sock);
  ASSERT_TRUE(c);
  std::string line = read_line(c.get());
  for (int i = 0; i < 50 && line.rfind("count ", 0) == 0 && std::stoull(line.substr(6)) <= at_snapshot; ++i)
    line = read_line(c.get());
  ASSERT_EQ(line.rfind("count ", 0), 0u) << line;
  EXPECT_GT(std::stoull(line.substr(6)), at_snapshot);

  EXPECT_EQ(env.vm({"stop", "dst"}).status, 0);
}

// A snapshot without --stop leaves the VM running; a VM restored from it
// counts on from the snapshot, and a snapshot of that restored VM (whose
// RAM is mapped from the first snapshot) restores too.
TEST(VmSnapshot, SnapshotOfARunningVmAndOfARestoredOne) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  ASSERT_EQ(env.vm({"run", "-d", "--name", "a", "--kernel", guest("counter"), "--memory", "64M"}).status, 0);
  ASSERT_TRUE(wait_count(env, "a", 128));
  uint64_t before = last_count(console_log(env, "a"));
  ASSERT_EQ(env.vm({"snapshot", "a", env.path("s1")}).status, 0);
  uint64_t after = last_count(console_log(env, "a"));
  EXPECT_EQ(inspect(env, "a")["State"], "running");
  ASSERT_TRUE(wait_count(env, "a", after + 128)) << "the source stopped counting";

  ASSERT_EQ(env.vm({"restore", env.path("s1"), "--name", "b", "-d"}).status, 0);
  ASSERT_TRUE(wait_count(env, "b", after + 192));
  auto b = counts(console_log(env, "b"));
  ASSERT_FALSE(b.empty());
  EXPECT_GT(b.front().count, before);
  EXPECT_LE(b.front().count, after + 64);
  expect_carried_on(console_log(env, "b"), 1);

  ASSERT_EQ(env.vm({"snapshot", "b", env.path("s2"), "--stop"}).status, 0);
  std::string b_log = console_log(env, "b");
  ASSERT_EQ(env.vm({"restore", env.path("s2"), "--name", "c", "-d"}).status, 0);
  ASSERT_TRUE(wait_count(env, "c", last_count(b_log) + 128));
  expect_carried_on(b_log + console_log(env, "c"), 1);
  EXPECT_EQ(env.vm({"stop", "a"}).status, 0);
  EXPECT_EQ(env.vm({"stop", "c"}).status, 0);
}

TEST(VmSnapshot, RefusalsLeaveTheVmRunning) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  ASSERT_EQ(env.vm({"run", "-d", "--name", "v", "--kernel", guest("counter"), "--memory", "64M"}).status, 0);
  ASSERT_TRUE(wait_count(env, "v", 64));
  std::filesystem::create_directory(env.path("full"));
  { std::ofstream(env.path("full/x")) << "x"; }
  expect_one_line(env.vm({"snapshot", "v", env.path("full")}), "snapshot directory " + env.path("full") + " is not empty", 4);
  EXPECT_TRUE(std::filesystem::exists(env.path("full/x")));
  uint64_t n = last_count(console_log(env, "v"));
  ASSERT_TRUE(wait_count(env, "v", n + 128)) << "the VM did not carry on after a refused snapshot";
  EXPECT_EQ(inspect(env, "v")["State"], "running");

  expect_one_line(env.vm({"snapshot", "nosuch", env.path("s")}), "vm nosuch not found", 3);
  ASSERT_EQ(env.vm({"snapshot", "v", env.path("s")}).status, 0);
  expect_one_line(env.vm({"restore", env.path("s"), "--name", "v", "-d"}), "vm v already exists (running)", 4);
  ASSERT_EQ(env.vm({"stop", "v"}).status, 0);
  expect_one_line(env.vm({"snapshot", "v", env.path("s3")}), "vm v is not running", 5);
  expect_one_line(env.vm({"pause", "v"}), "vm v is not running", 5);
}

// Damaged, foreign or too big snapshots, and a disk that changed: one line
// each, and nothing of the VM that did not start.
TEST(VmSnapshot, BadSnapshotsFailInOneLineAndLeaveNothing) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  namespace sfs = std::filesystem;
  std::string disk = env.path("disk.img"), good = env.path("good");
  { std::ofstream(disk) << std::string(1 << 20, '\0'); }
  ASSERT_EQ(env.vm({"run", "-d", "--name", "g", "--kernel", guest("counter"), "--memory", "64M", "--disk", disk}).status, 0);
  ASSERT_TRUE(wait_count(env, "g", 64));
  ASSERT_EQ(env.vm({"snapshot", "g", good, "--stop"}).status, 0);

  int n = 0;
  auto variant = [&](const std::function<void(const std::string&)>& damage) {
    std::string d = env.path("bad" + std::to_string(n++));
    sfs::copy(good, d);
    damage(d);
    return d;
  };
  auto restore = [&](const std::string& dir, const std::string& what, int status) {
    std::string name = "r" + std::to_string(n);
    expect_one_line(env.vm({"restore", dir, "--name", name, "-d"}), what, status);
    expect_no_trace(env, name);
  };
  auto edit_state = [](const std::string& d, const std::function<void(std::string&)>& f) {
    std::string s = read_all(d + "/state");
    f(s);
    std::ofstream(d + "/state", std::ios::binary | std::ios::trunc) << s;
  };

  restore(variant([&](const std::string& d) { edit_state(d, [](std::string& s) { s.resize(s.size() / 2); }); }),
          "is damaged: truncated", 7);
  restore(variant([&](const std::string& d) { edit_state(d, [](std::string& s) { s[s.size() / 2] ^= 1; }); }),
          "is damaged: checksum mismatch in section", 7);
  restore(variant([&](const std::string& d) { edit_state(d, [](std::string& s) { s[0] = 'X'; }); }),
          "is not a berth snapshot (bad magic)", 7);
  restore(variant([&](const std::string& d) { edit_state(d, [](std::string& s) { s[8] = 2; }); }),
          "has format version 2", 6);
  restore(variant([&](const std::string& d) { ::truncate((d + "/memory").c_str(), 1 << 20); }),
          "its memory file is 1048576 bytes, not 67108864", 7);
  // Well-formed snapshots of another machine: rewritten section by section.
  auto rewrite = [&](const std::string& section, const std::function<void(json&)>& f) {
    return variant([&](const std::string& d) {
      vmm::SnapshotReader r(d);
      vmm::SnapshotWriter w;
      for (const auto& s : r.names()) {
        json j = r.section(s);
        if (s == section) f(j);
        w.add(s, j);
      }
      w.write(d + "/state");
    });
  };
  restore(rewrite("machine", [](json& m) { m["memory"] = 64ull << 40; }),
          "has 67108864 MiB of RAM, which is larger than this host's RAM", 2);
  // Taken where CPUID leaf 0 said something else (eax of the first entry).
  restore(rewrite("vcpu/0", [](json& v) {
            std::string c = v["cpuid"];
            c[24] = c[24] == '0' ? '1' : '0';
            v["cpuid"] = c;
          }),
          "the snapshot was taken on a host with other CPU features (vCPU 0: CPUID leaf 0x0.0 eax is", 6);
  restore(env.path("nosuch"), "snapshot directory " + env.path("nosuch") + " not found", 3);
  sfs::create_directory(env.path("empty"));
  restore(env.path("empty"), "no snapshot at " + env.path("empty"), 3);

  // The disk changed since: the VMM refuses it, after it opened it.
  { std::ofstream(disk, std::ios::in | std::ios::out | std::ios::binary).write("changed", 7); }
  restore(good, "disk " + disk + " changed since the snapshot was taken", 5);
}

TEST(VmSnapshot, ControlSocketSpeaksJsonLines) {
  BERTH_REQUIRE_KVM();
  VmEnv env;
  ASSERT_EQ(env.vm({"run", "-d", "--name", "j", "--kernel", guest("idle"), "--memory", "32M"}).status, 0);
  UniqueFd c = connect_channel(env.state() + "/vms/j/control.sock");
  ASSERT_TRUE(c);
  auto ask = [&](const std::string& req) {
    std::string line = req + "\n";
    EXPECT_EQ(::write(c.get(), line.data(), line.size()), static_cast<ssize_t>(line.size()));
    return json::parse(read_line(c.get()), nullptr, false);
  };
  json st = ask(R"({"op":"status"})");
  EXPECT_EQ(st["ok"], true);
  EXPECT_EQ(st["state"], "running");
  EXPECT_EQ(st["memory"], 32 << 20);
  EXPECT_EQ(ask(R"({"op":"pause"})")["ok"], true);
  EXPECT_EQ(ask(R"({"op":"status"})")["state"], "paused");
  json bad = ask("garbage");
  EXPECT_EQ(bad["ok"], false);
  EXPECT_TRUE(has(bad["error"], "not a JSON object")) << bad.dump();
  json unknown = ask(R"({"op":"fly"})");
  EXPECT_TRUE(has(unknown["error"], "unknown control op 'fly'")) << unknown.dump();
  json rel = ask(R"({"op":"snapshot","dir":"relative"})");
  EXPECT_TRUE(has(rel["error"], "must be an absolute path")) << rel.dump();
  // Numbers a script may get wrong: a float too large for an int, a
  // negative count (undefined behaviour and a wrap before; one error now).
  for (const char* field : {R"("max_rounds":1e300)", R"("max_rounds":-1)", R"("max_bandwidth":1.5e30)"}) {
    json m = ask(std::string(R"({"op":"migrate","to":"tcp:127.0.0.1:9",)") + field + "}");
    EXPECT_EQ(m["ok"], false) << field;
    EXPECT_TRUE(has(m["error"], "must be a whole number")) << m.dump();
  }
  json ms = ask(R"({"op":"migrate","to":"tcp:127.0.0.1:9","max_downtime_ms":"50ms"})");
  EXPECT_TRUE(has(ms["error"], "max_downtime_ms must be a number")) << ms.dump();
  EXPECT_EQ(ask(R"({"op":"status"})")["state"], "paused");
  EXPECT_EQ(ask(R"({"op":"resume"})")["ok"], true);
  EXPECT_EQ(env.vm({"stop", "j"}).status, 0);
  EXPECT_FALSE(std::filesystem::exists(env.state() + "/vms/j/control.sock"));
}

}  // namespace
}  // namespace berth::testing
