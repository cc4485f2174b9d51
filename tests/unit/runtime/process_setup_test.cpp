#include "common/error.hpp"
#include "runtime/lsm_labels.hpp"
#include "runtime/process_setup.hpp"
#include "runtime/seccomp.hpp"
#include "test_support.hpp"

using namespace berth::runtime;

namespace {

std::string prepare_error(const berth::oci::Process& p, const berth::oci::Linux* l = nullptr) {
  try {
    prepare_process_settings(p, l);
  } catch (const berth::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ProcessSetup, PrepareValidatesEveryField) {
  berth::oci::Process p;
  p.args = {"true"};
  EXPECT_EQ(prepare_error(p), "");

  auto q = p;
  q.rlimits = {{"RLIMIT_NOFILE", 10, 10}, {"RLIMIT_BOGUS", 1, 1}};
  EXPECT_NE(prepare_error(q).find("process.rlimits[1] (RLIMIT_BOGUS): unknown rlimit type"), std::string::npos)
      << prepare_error(q);
  q = p;
  q.rlimits = {{"RLIMIT_NOFILE", 10, 20}};
  EXPECT_NE(prepare_error(q).find("soft limit 20 exceeds hard limit 10"), std::string::npos) << prepare_error(q);
  q = p;
  q.io_priority = berth::oci::IoPriority{"IOPRIO_CLASS_FAST", 1};
  EXPECT_NE(prepare_error(q).find("process.ioPriority.class"), std::string::npos);
  q.io_priority = berth::oci::IoPriority{"IOPRIO_CLASS_BE", 9};
  EXPECT_NE(prepare_error(q).find("process.ioPriority.priority"), std::string::npos);
  // A label is refused only where its module is on (lsm_labels.hpp).
  struct Label {
    std::string berth::oci::Process::*field;
    bool (*module_on)();
    const char* error;
  };
  for (const Label& l : {Label{&berth::oci::Process::apparmor_profile, berth::runtime::apparmor_enabled,
                               "process.apparmorProfile \"x\""},
                         Label{&berth::oci::Process::selinux_label, berth::runtime::selinux_enabled,
                               "process.selinuxLabel \"x\""}}) {
    q = p;
    q.*l.field = "x";
    EXPECT_EQ(prepare_error(q).find(l.error) != std::string::npos, l.module_on()) << prepare_error(q);
    if (!l.module_on()) {
      EXPECT_EQ(prepare_error(q), "");
    }
  }
  q = p;
  q.exec_cpu_affinity = berth::oci::ExecCpuAffinity{"0-", ""};
  EXPECT_NE(prepare_error(q).find("process.execCPUAffinity.initial: \"0-\""), std::string::npos) << prepare_error(q);
  q.exec_cpu_affinity = berth::oci::ExecCpuAffinity{"0", "1,"};
  EXPECT_NE(prepare_error(q).find("process.execCPUAffinity.final"), std::string::npos) << prepare_error(q);
  berth::oci::Linux mp;
  mp.memory_policy = berth::oci::MemoryPolicy{"MPOL_BIND", "", {}};
  EXPECT_NE(prepare_error(p, &mp).find("linux.memoryPolicy.nodes: MPOL_BIND needs nodes"), std::string::npos);
  mp.memory_policy = berth::oci::MemoryPolicy{"MPOL_DEFAULT", "0", {}};
  EXPECT_NE(prepare_error(p, &mp).find("MPOL_DEFAULT takes no nodes"), std::string::npos);
  mp.memory_policy = berth::oci::MemoryPolicy{"MPOL_INTERLEAVE", "0-1", {}};
  EXPECT_EQ(prepare_error(p, &mp), "");
  q = p;
  q.capabilities = berth::oci::Capabilities{};
  // Cannot be granted: ignored with a warning (runc warns, crun accepts).
  q.capabilities->permitted = {"CAP_NOPE", "CAP_KILL"};
  EXPECT_EQ(prepare_error(q), "");
  EXPECT_EQ(berth::runtime::prepare_process_settings(q, nullptr).permitted, uint64_t{1} << 5);

  berth::oci::Linux l;
  l.seccomp = berth::oci::Seccomp{};
  l.seccomp->default_action = "SCMP_ACT_ALLOW";
  l.seccomp->syscalls.push_back({{"mkdir"}, "SCMP_ACT_NOPE", std::nullopt, {}});
  EXPECT_NE(prepare_error(p, &l).find("linux.seccomp.syscalls[0].action"), std::string::npos);
}

TEST(ProcessSetup, PrepareCompilesTheFilterOnce) {
  berth::oci::Process p;
  p.args = {"true"};
  berth::oci::Linux l;
  l.seccomp = berth::oci::Seccomp{};
  l.seccomp->default_action = "SCMP_ACT_ALLOW";
  l.seccomp->syscalls.push_back({{"mkdir"}, "SCMP_ACT_ERRNO", 5, {}});
  auto prepared = prepare_process_settings(p, &l);
  ASSERT_TRUE(prepared.seccomp);
  EXPECT_EQ(prepared.seccomp->rule_count(), 1u);
  auto moved = std::move(prepared);
  EXPECT_TRUE(moved.seccomp);
}

TEST(ProcessSetup, ResolveExecutable) {
  berth::oci::Process p;
  p.env = {"PATH=/nonexistent:/bin:/usr/bin"};
  p.args = {"sh"};
  EXPECT_EQ(resolve_executable(p), "/bin/sh");
  p.args = {"/bin/sh"};
  EXPECT_EQ(resolve_executable(p), "/bin/sh");
  p.args = {"no-such-program-anywhere"};
  try {
    resolve_executable(p);
    FAIL();
  } catch (const berth::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "exec: \"no-such-program-anywhere\": executable file not found in $PATH");
    EXPECT_EQ(e.kind(), berth::ErrorKind::NotFound);
  }
  berth::testing::TempDir d;
  FILE* f = fopen((d / "script").c_str(), "w");
  fclose(f);
  chmod((d / "script").c_str(), 0644);
  p.args = {d / "script"};  // exists, not executable
  EXPECT_THROW(resolve_executable(p), berth::Error);
  // Docker classifies start failures by runc's lowercase wording (127/126).
  p.args = {"/no/such/binary"};
  try {
    resolve_executable(p);
    ADD_FAILURE() << "no throw";
  } catch (const berth::Error& e) {
    EXPECT_EQ(std::string(e.what()), "exec: \"/no/such/binary\": no such file or directory");
  }
  p.args = {};
  EXPECT_THROW(resolve_executable(p), berth::Error);
}
