// Live migration between two roots on this host (two `berth` installations
// as far as records go), over TCP on loopback only, with the counter guest:
// its console logs, end to end across source and target, must show a count
// that never restarts and never skips, and both CPUs counting. A target
// that dies, refuses or is not there, an abort, and a receiver fed garbage
// each give one clear error and leave the source running.
#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "vm_support.hpp"

namespace berth::testing {
namespace {

using nlohmann::json;

json inspect(VmEnv& env, const std::string& name) {
  return json::parse(env.vm({"inspect", name}).out, nullptr, false);
}

// A migration of `source` on a to a receiver `target` on b, started in the
// background at 256 KiB/s, so that its first round alone takes seconds;
// returns the pid of `berth vm migrate` once the target has the machine.
pid_t slow_migration(VmEnv& a, const std::string& source, VmEnv& b, const std::string& target, const std::string& to) {
  EXPECT_EQ(b.vm({"receive", "--listen", to, "--name", target, "-d"}).status, 0);
  pid_t cli = spawn_background({berth_bin(), "--root", a.root(), "--state", a.state(), "vm", "migrate", source, "--to",
                                to, "--max-bandwidth", "256K"},
                               a.path("migrate.out"));
  EXPECT_TRUE(eventually([&] { return has(inspect(b, target)["Config"].dump(), "cpus"); })) << "no machine arrived";
  return cli;
}

// The exit status of the background command pid (-1 if it did not end).
int exit_status(pid_t pid) {
  int status = 0;
  if (!eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 20000)) {
    ::kill(pid, SIGKILL);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The source is running and still counting.
void expect_source_runs(VmEnv& env, const std::string& name) {
  EXPECT_EQ(inspect(env, name)["State"], "running");
  uint64_t n = last_count(console_log(env, name));
  EXPECT_TRUE(wait_count(env, name, n + 128)) << "the source stopped counting:\n" << console_log(env, name);
  EXPECT_FALSE(has(console_log(env, name), "MISMATCH"));
}

TEST(VmMigrate, ThereAndBackAgainTheCountCarriesOn) {
  BERTH_REQUIRE_KVM();
  VmEnv a, b;
  std::string disk = a.path("disk.img");
  { std::ofstream(disk) << std::string(1 << 20, '\0'); }
  ASSERT_EQ(a.vm({"run", "-d", "--name", "m", "--kernel", guest("counter"), "--cpus", "2", "--memory", "64M",
                  "--disk", disk}).status, 0);
  ASSERT_TRUE(wait_count(a, "m", 128));

  std::string to_b = free_port();
  CmdResult rb = b.vm({"receive", "--listen", to_b, "--name", "m", "-d"});
  ASSERT_EQ(rb.status, 0) << rb.err;
  EXPECT_EQ(inspect(b, "m")["Config"]["incoming"], to_b);
  // The disk's lock passes from source to target at the switch-over.
  CmdResult mig = a.vm({"migrate", "m", "--to", to_b});
  ASSERT_EQ(mig.status, 0) << mig.err;
  EXPECT_TRUE(has(mig.out, "migrated vm m to " + to_b + ": total ")) << mig.out;
  EXPECT_TRUE(has(mig.out, " rounds")) << mig.out;
  {
    // The VMM's figures reach the CLI (each reads as 0 if it is not a number).
    std::smatch t;
    ASSERT_TRUE(std::regex_search(mig.out, t, std::regex(R"(total ([0-9.]+) ms, .* sent in ([0-9]+) rounds)"))) << mig.out;
    EXPECT_GT(std::stod(t[1]), 0) << mig.out;
    EXPECT_GE(std::stoi(t[2]), 1) << mig.out;
  }
  {
    // One host: the downtime is the target's moment of resuming, which the
    // source hears of no earlier.
    std::smatch t;
    ASSERT_TRUE(std::regex_search(mig.out, t, std::regex(R"(downtime ([0-9.]+) ms.*"running" heard ([0-9.]+) ms)")))
        << mig.out;
    EXPECT_LE(std::stod(t[1]), std::stod(t[2]) + 0.1) << mig.out;  // both rounded to 0.1 ms
  }
  json ja = inspect(a, "m");
  EXPECT_EQ(ja["State"], "stopped");
  EXPECT_EQ(ja["ExitReason"], "migrated");
  std::string a_log = console_log(a, "m");
  ASSERT_TRUE(wait_count(b, "m", last_count(a_log) + 128)) << console_log(b, "m");
  json jb = inspect(b, "m");
  EXPECT_EQ(jb["State"], "running");
  EXPECT_EQ(jb["Config"]["cpus"], 2);  // the record learnt its machine
  EXPECT_EQ(jb["Config"]["disks"][0]["path"], disk);
  EXPECT_TRUE(eventually([&] {
    std::string sector = read_all(disk).substr(512, 32);
    return sector.rfind("count ", 0) == 0 && std::stoull(sector.substr(6)) > last_count(a_log);
  })) << "the target does not write the disk";

  // And back: the name m is taken on a by the migrated record.
  std::string to_a = free_port();
  ASSERT_EQ(a.vm({"receive", "--listen", to_a, "--name", "m2", "-d"}).status, 0);
  mig = b.vm({"migrate", "m", "--to", to_a});
  ASSERT_EQ(mig.status, 0) << mig.err;
  std::string b_log = console_log(b, "m");
  ASSERT_TRUE(wait_count(a, "m2", last_count(b_log) + 128));
  expect_carried_on(a_log + b_log + console_log(a, "m2"), 2);
  EXPECT_EQ(a.vm({"stop", "m2"}).status, 0);
}

TEST(VmMigrate, TargetKilledMidwayLeavesTheSourceRunning) {
  BERTH_REQUIRE_KVM();
  VmEnv a, b;
  ASSERT_EQ(a.vm({"run", "-d", "--name", "s", "--kernel", guest("counter"), "--memory", "64M"}).status, 0);
  ASSERT_TRUE(wait_count(a, "s", 64));
  std::string to = free_port();
  pid_t cli = slow_migration(a, "s", b, "t", to);
  ::kill(inspect(b, "t")["Pid"].get<int>(), SIGKILL);
  int status = exit_status(cli);
  std::string err = read_all(a.path("migrate.out"));
  EXPECT_GT(status, 0) << err;
  EXPECT_TRUE(has(err, "berth: migrate vm s: migrate to " + to + ": ")) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  expect_source_runs(a, "s");
  expect_carried_on(console_log(a, "s"), 1);
  EXPECT_EQ(a.vm({"stop", "s"}).status, 0);
}

TEST(VmMigrate, AbortRefusalAndNoReceiverLeaveTheSourceRunning) {
  BERTH_REQUIRE_KVM();
  VmEnv a, b;
  ASSERT_EQ(a.vm({"run", "-d", "--name", "s", "--kernel", guest("counter"), "--memory", "64M"}).status, 0);
  ASSERT_TRUE(wait_count(a, "s", 64));

  CmdResult none = a.vm({"migrate", "s", "--to", free_port()});
  EXPECT_EQ(none.status, 5) << none.err;
  EXPECT_TRUE(has(none.err, "Connection refused (is a receiver listening there?)")) << none.err;
  expect_source_runs(a, "s");

  // A receiver that wants a token the source does not give.
  std::string to = free_port();
  { std::ofstream(b.path("token")) << "s3cret-token\n"; }
  ASSERT_EQ(b.vm({"receive", "--listen", to, "--name", "t", "--token-file", b.path("token"), "-d"}).status, 0);
  CmdResult refused = a.vm({"migrate", "s", "--to", to});
  EXPECT_EQ(refused.status, 5) << refused.err;
  EXPECT_TRUE(has(refused.err, "refused: the source 127.0.0.1:")) << refused.err;
  EXPECT_TRUE(has(refused.err, "did not give this receiver's token")) << refused.err;
  expect_source_runs(a, "s");
  EXPECT_TRUE(eventually([&] { return inspect(b, "t")["State"] == "stopped"; }));
  EXPECT_TRUE(has(inspect(b, "t")["ExitDetail"], "did not give this receiver's token"));

  // Aborted from another command while it copies.
  to = free_port();
  pid_t cli = slow_migration(a, "s", b, "u", to);
  CmdResult abort = a.vm({"migrate", "s", "--abort"});
  EXPECT_EQ(abort.status, 0) << abort.err;
  EXPECT_EQ(exit_status(cli), 5);
  EXPECT_TRUE(has(read_all(a.path("migrate.out")), "migration aborted")) << read_all(a.path("migrate.out"));
  expect_source_runs(a, "s");
  // The receiver saw its stream end midway and ended; nothing is left of it.
  EXPECT_TRUE(eventually([&] { return inspect(b, "u")["State"] == "stopped"; }));
  EXPECT_TRUE(has(inspect(b, "u")["ExitDetail"], "closed the migration stream midway")) << inspect(b, "u").dump();

  // Ctrl-C on `berth vm migrate`: it asks the VMM to cancel and says so.
  cli = slow_migration(a, "s", b, "v", free_port());
  ::kill(cli, SIGINT);
  EXPECT_EQ(exit_status(cli), 5);
  EXPECT_TRUE(has(read_all(a.path("migrate.out")), "migration aborted")) << read_all(a.path("migrate.out"));
  expect_source_runs(a, "s");
  EXPECT_EQ(a.vm({"stop", "s"}).status, 0);
}

TEST(VmMigrate, AReceiverFedGarbageEndsWithOneError) {
  BERTH_REQUIRE_KVM();
  VmEnv b;
  std::string to = free_port();
  ASSERT_EQ(b.vm({"receive", "--listen", to, "--name", "g", "-d"}).status, 0);
  int pid = inspect(b, "g")["Pid"];
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(to.substr(to.rfind(':') + 1))));
  ASSERT_EQ(::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::write(s.get(), garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  EXPECT_TRUE(eventually([&] { return process_exited(pid); }));
  json j = inspect(b, "g");
  EXPECT_EQ(j["State"], "stopped");
  EXPECT_EQ(j["ExitReason"], "error");
  EXPECT_TRUE(has(j["ExitDetail"], "is garbage (frame type")) << j.dump();
  EXPECT_FALSE(std::filesystem::exists(b.state() + "/vms/g/control.sock"));

  // Not on loopback without a token: refused before it listens.
  CmdResult open = b.vm({"receive", "--listen", "tcp:0.0.0.0:1", "--name", "o", "-d"});
  EXPECT_EQ(open.status, 2) << open.err;
  EXPECT_TRUE(has(open.err, "is not a loopback address")) << open.err;
  EXPECT_TRUE(has(open.err, "needs --token-file")) << open.err;
  EXPECT_EQ(b.vm({"inspect", "o"}).status, 3);
  CmdResult bad = b.vm({"receive", "--listen", "udp:x", "--name", "o"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_TRUE(has(bad.err, "not a tcp: address")) << bad.err;
}

}  // namespace
}  // namespace berth::testing
