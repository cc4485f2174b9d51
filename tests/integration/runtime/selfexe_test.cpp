// The runtime binary must not be reachable or writable from inside a
// container (the runc /proc/self/exe overwrite, CVE-2019-5736). A created
// init waits for `start` in berth-init-wait, a sealed memfd (init_wait.hpp),
// unless the config keeps it in the runtime (a startContainer hook: it runs
// after `start`, in the init); then it *is* the runtime binary, visible as
// pid 1 of the container, and a container process must get nothing through
// /proc/1/exe, and the binary must be unchanged afterwards.
#include <openssl/sha.h>

#include "runtime_checks.hpp"

using namespace berth::testing;
using nlohmann::json;

namespace {

std::string digest(const std::string& path) {
  std::string data = slurp(path);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

// Every capability but CAP_SYS_PTRACE: the attacker is root in the container
// with a broad capability set.
json almost_all_caps() {
  json caps = json::array();
  for (const char* c : {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
                        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                        "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
                        "CAP_SYS_ADMIN"})
    caps.push_back(c);
  return caps;
}

// process.json for `exec -p`: `script` run by root with caps in every set.
json root_process(const std::string& script, const json& caps) {
  return {{"args", {"sh", "-c", script}},
          {"cwd", "/"},
          {"env", {"PATH=/bin:/usr/bin"}},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}}};
}

// A startContainer hook (run by the init after `start`) keeps the created
// init in the runtime binary instead of berth-init-wait.
void keep_init_in_the_runtime(Bundle& b) {
  b.config["hooks"]["startContainer"] = json::array({{{"path", "/bin/true"}}});
}

// Points rt at a copy of the runtime in `bin`: a regression that lets the
// attack through damages a temp file, not the build.
void use_a_copy_of_the_runtime(Runtime& rt, const TempDir& bin) {
  ASSERT_EQ(std::system(("cp " + rt.binary + " " + bin.path() + "/berth-runtime").c_str()), 0);
  rt.binary = bin.path() + "/berth-runtime";
}

// runc's exploit against created container `id`, by a ptrace-capable
// container root (`exec -d`): write /proc/1/exe, else hold an fd on it and
// keep reopening that for writing once `start` has exec'd the process.
// Returns the attacker's log (link=..., held, *WRITE-OK, done).
std::string attack_the_waiting_init(Runtime& rt, Bundle& b, const std::string& id) {
  json caps = almost_all_caps();
  caps.push_back("CAP_SYS_PTRACE");
  TempDir d;
  std::ofstream(d.path() + "/attack.json")
      << root_process("exec >/tmp/attack.log 2>&1; "
                      "echo link=$(readlink /proc/1/exe); "
                      "(printf x >> /proc/1/exe) 2>/dev/null && echo DIRECT-WRITE-OK; "
                      "if (exec 3</proc/1/exe) 2>/dev/null; then exec 3</proc/1/exe; echo held; "
                      "else echo not-held; exit; fi; "
                      "i=0; while [ $i -lt 20 ]; do "
                      "  if (printf x >> /proc/self/fd/3) 2>/dev/null; then echo REOPEN-WRITE-OK; break; fi; "
                      "  i=$((i+1)); sleep 0.1; "
                      "done; echo done",
                      caps)
             .dump();
  auto r = run_detached(rt, {"exec", "-d", "-p", d.path() + "/attack.json", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string log = b.rootfs() + "/tmp/attack.log";
  EXPECT_TRUE(eventually([&] { return slurp(log).find("held") != std::string::npos; })) << slurp(log);
  // The attack got its hands on pid 1's binary: the test tests something.
  EXPECT_NE(slurp(log).find("\nheld"), std::string::npos) << slurp(log);
  EXPECT_EQ(rt({"start", id}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return slurp(log).find("done") != std::string::npos; })) << slurp(log);
  return slurp(log);
}

}  // namespace

TEST(SelfExe, ContainerCannotReachTheRuntimeBinaryThroughTheInit) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sleep", "1000"});
  keep_init_in_the_runtime(b);
  b.write();
  Runtime rt;
  std::string before = digest(rt.binary);
  std::string id = Runtime::unique_id("selfexe");
  // Created, not started: the init is still berth-runtime.
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), id}).exit_code, 0);
  int pid = state_of(rt, id)["pid"];
  std::string exe = proc_link(pid, "exe");
  ASSERT_NE(exe, "");
  EXPECT_NE(exe.find("berth-runtime"), std::string::npos);

  TempDir d;
  std::ofstream(d.path() + "/attack.json")
      << root_process("comm=$(cat /proc/1/comm); echo comm=$comm; "
                      "readlink /proc/1/exe && echo LINK-VISIBLE; "
                      "cat /proc/1/exe > /dev/null 2>&1 && echo READ-OK; "
                      "(echo overwritten > /proc/1/exe) 2>/dev/null && echo WRITE-OK; "
                      "(exec 3</proc/1/exe) 2>/dev/null && echo OPEN-OK; "
                      "for m in $(ls /proc/1/map_files/ 2>/dev/null); do "
                      "  cat /proc/1/map_files/$m > /dev/null 2>&1 && echo MAPFILES-READ-OK; "
                      "  (echo x >> /proc/1/map_files/$m) 2>/dev/null && echo MAPFILES-WRITE-OK; "
                      "done; "
                      "echo done",
                      almost_all_caps())
             .dump();
  auto r = rt({"exec", "-p", d.path() + "/attack.json", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("comm=berth-runtime"), std::string::npos) << r.out;  // it is the runtime...
  EXPECT_EQ(r.out.find("LINK-VISIBLE"), std::string::npos) << r.out;        // ...but unreachable
  EXPECT_EQ(r.out.find("READ-OK"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("WRITE-OK"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("OPEN-OK"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("MAPFILES-READ-OK"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("MAPFILES-WRITE-OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done"), std::string::npos) << r.out;
  EXPECT_EQ(digest(rt.binary), before);

  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

// CAP_SYS_PTRACE without a user namespace passes the non-dumpable check, so
// the attacker does reach /proc/1/exe of the waiting init (runc's exploit:
// hold an fd on it, wait for the runtime to be gone, reopen it for writing).
// The init runs from a read-only overlay view of the binary (sealed_exe.hpp):
// every write fails and the binary is unchanged. The runtime used here is a
// copy, so a regression damages nothing but a temp file. Both views: the
// overlay, and the sealed memfd copy used where overlayfs cannot serve
// (BERTH_RUNTIME_SEAL=memfd forces it).
class SealedExe : public ::testing::TestWithParam<const char*> {};

TEST_P(SealedExe, PtraceCapableContainerCannotWriteTheRuntimeBinary) {
  BERTH_REQUIRE_BUSYBOX();
  struct SealEnv {  // this process's later tests see the default again
    explicit SealEnv(const std::string& how) {
      if (how == "memfd") setenv("BERTH_RUNTIME_SEAL", "memfd", 1);
    }
    ~SealEnv() { unsetenv("BERTH_RUNTIME_SEAL"); }
  } seal_env(GetParam());
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.config["root"]["readonly"] = false;
  keep_init_in_the_runtime(b);
  b.write();
  Runtime rt;
  TempDir bin;
  use_a_copy_of_the_runtime(rt, bin);
  std::string before = digest(rt.binary);
  std::string id = Runtime::unique_id("ptrace");
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), id}).exit_code, 0);

  std::string log = attack_the_waiting_init(rt, b, id);
  EXPECT_EQ(log.find("WRITE-OK"), std::string::npos) << log;
  EXPECT_NE(log.find(std::string(GetParam()) == "memfd" ? "link=/memfd:berth-runtime" : "link=/berth-runtime"),
            std::string::npos)
      << log;  // the view the attacker held
  EXPECT_EQ(digest(rt.binary), before);

  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

INSTANTIATE_TEST_SUITE_P(Views, SealedExe, ::testing::Values("overlay", "memfd"));

// Without such a hook the created init waits in berth-init-wait: no runtime
// binary is in the container's reach at all (and `create` made no sealed
// view), and what pid 1 does run is a sealed memfd that a ptrace-capable
// container root cannot change, before or after `start`.
TEST(SelfExe, CreatedInitWaitsInASealedHelper) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.config["root"]["readonly"] = false;
  b.write();
  Runtime rt;
  TempDir bin;
  use_a_copy_of_the_runtime(rt, bin);
  std::string before = digest(rt.binary);
  std::string id = Runtime::unique_id("initwait");
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), id}).exit_code, 0);
  int pid = state_of(rt, id)["pid"];
  EXPECT_EQ(proc_link(pid, "exe"), "/memfd:berth-init-wait (deleted)");
  // What ps shows of a created container (the memfd's name, cut to 15 bytes).
  EXPECT_EQ(slurp("/proc/" + std::to_string(pid) + "/comm"), "memfd:berth-ini\n");

  std::string log = attack_the_waiting_init(rt, b, id);
  EXPECT_NE(log.find("link=/memfd:berth-init-wait"), std::string::npos) << log;
  EXPECT_EQ(log.find("WRITE-OK"), std::string::npos) << log;
  EXPECT_EQ(state_of(rt, id)["status"], "running");
  EXPECT_EQ(slurp("/proc/" + std::to_string(pid) + "/comm"), "sleep\n");
  EXPECT_EQ(digest(rt.binary), before);

  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(SelfExe, RuntimeBinaryIsNotInTheContainerFilesystem) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  Runtime rt;
  b.set_args({"sh", "-c", "ls /proc/self/fd; ls -l /proc/self/fd | grep -c berth-runtime || true"});
  b.write();
  std::string id = Runtime::unique_id("nofd");
  auto r = rt({"run", "--bundle", b.path(), id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // No descriptor of the runtime (binary, state dir, fifo) leaks into the container.
  EXPECT_NE(r.out.find("\n0\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("exec.fifo"), std::string::npos) << r.out;
}
