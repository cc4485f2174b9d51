// Fields berth-runtime accepts without applying them
// (runtime/ignored_fields.hpp, runtime/lsm_labels.hpp): each set one gets
// one warning, on stderr or in the --log file engines read, and the
// container runs; what is not deprecated and cannot be applied still fails.
#include "reference_runtime.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"
#include "runtime/lsm_labels.hpp"

using namespace berth::testing;
using nlohmann::json;

namespace {

#define BERTH_REQUIRE_NO_LSM()                                                        \
  do {                                                                                \
    if (::berth::runtime::selinux_enabled() || ::berth::runtime::apparmor_enabled()) \
      GTEST_SKIP() << "SELinux or AppArmor is on here: labels are refused";          \
  } while (0)

void set_labels(Bundle& b) {
  b.config["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2";
  b.config["process"]["apparmorProfile"] = "docker-default";
  b.config["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0:c1,c2";
}

// The warnings berth-runtime gives the config of set_labels(), plus the
// fields of other platforms.
const char* const kIgnored[] = {"process.selinuxLabel \"system_u:system_r:container_t:s0:c1,c2\": ignored",
                                "process.apparmorProfile \"docker-default\": ignored",
                                "linux.mountLabel \"system_u:object_r:container_file_t:s0:c1,c2\": ignored",
                                "process.commandLine: ignored", "windows: ignored"};

// The memory cgroup file of a container made with cgroupsPath `path`.
std::string memory_file(const std::string& path, const std::string& file) {
  const auto* h = berth::runtime::cgroups::host_cgroups().v1_for("memory");
  return h ? h->mountpoint + path + "/" + file : "";
}

std::string value(const std::string& file) {
  std::string v = slurp(file);
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

class Labels : public ::testing::TestWithParam<const char*> {};
class DeprecatedMemory : public ::testing::TestWithParam<const char*> {};
class Capabilities : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(Labels, WithoutTheModuleRunWithOneWarningEach) {
  BERTH_REQUIRE_BUSYBOX();
  BERTH_REQUIRE_NO_LSM();
  Runtime rt;
  BERTH_USE_RUNTIME(rt, GetParam());
  Bundle b;
  set_labels(b);
  b.config["process"]["commandLine"] = "cmd.exe /c exit";
  b.config["windows"] = {{"layerFolders", {"C:\\layers"}}};
  b.set_args({"echo", "ran"});
  b.write();
  auto r = rt({"run", "--bundle", b.path(), Runtime::unique_id("labels")});
  if (is_runc(rt)) {
    // runc 1.1 refuses a process label SELinux cannot apply (crun 1.8 too).
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("selinux"), std::string::npos) << r.err;
    return;
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n");
  for (const char* w : kIgnored) EXPECT_EQ(occurrences(r.err, w), 1) << w << "\n" << r.err;
  EXPECT_EQ(occurrences(r.err, "berth-runtime: warning: "), 5) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Runtimes, Labels, ::testing::ValuesIn(kRuntimesUnderTest));

// With --log --log-format json the warnings are JSON lines in the file
// (what containerd and Docker read), once each, and not on stderr.
TEST(Labels, WarningsGoToTheJsonLog) {
  BERTH_REQUIRE_BUSYBOX();
  BERTH_REQUIRE_NO_LSM();
  Runtime rt;
  Bundle b;
  set_labels(b);
  b.config["process"]["commandLine"] = "cmd.exe /c exit";
  b.config["windows"] = json::object({{"layerFolders", {"C:\\layers"}}});
  b.set_args({"true"});
  b.write();
  TempDir logs;
  std::string log = logs.path() + "/log.json";
  auto r = rt({"--log", log, "--log-format", "json", "run", "--bundle", b.path(), Runtime::unique_id("labels")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  std::string msgs;
  std::istringstream in(slurp(log));
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    json j = json::parse(line);
    EXPECT_EQ(j["level"], "warning") << line;
    msgs += j["msg"].get<std::string>() + "\n";
  }
  EXPECT_EQ(lines, 5) << msgs;
  for (const char* w : kIgnored) EXPECT_EQ(occurrences(msgs, w), 1) << w << "\n" << msgs;
}

// exec --process-label / --apparmor, like the config's labels (runc 1.1
// fails writing /proc/self/attr/exec for --apparmor here).
TEST(Labels, ExecFlagsRunWithOneWarningEach) {
  BERTH_REQUIRE_BUSYBOX();
  BERTH_REQUIRE_NO_LSM();
  Runtime rt;
  Bundle b;
  b.set_args({"sleep", "600"});
  b.write();
  std::string id = Runtime::unique_id("labels");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  auto r = rt({"exec", "--process-label", "system_u:system_r:spc_t:s0", "--apparmor", "unconfined", id, "echo", "in"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "in\n");
  EXPECT_EQ(occurrences(r.err, "exec process.selinuxLabel \"system_u:system_r:spc_t:s0\": ignored"), 1) << r.err;
  EXPECT_EQ(occurrences(r.err, "exec process.apparmorProfile \"unconfined\": ignored"), 1) << r.err;
  EXPECT_EQ(occurrences(r.err, "warning"), 2) << r.err;
  // A config without labels warns about none.
  r = rt({"exec", id, "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

// memory.kernel / kernelTCP: the container runs with the limits next to
// them applied, at create and at update (Docker sends "kernel": 0 with
// every update), and a positive one gets one warning. A limit that is not
// deprecated and cannot be applied keeps its error.
TEST_P(DeprecatedMemory, AreIgnoredAtCreateAndUpdate) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  BERTH_USE_RUNTIME(rt, GetParam());
  std::string id = Runtime::unique_id("kmem");
  std::string cgroup = "/berth-spec-" + id;
  if (memory_file(cgroup, "").empty()) GTEST_SKIP() << "no v1 memory hierarchy: the v1 files are asserted";
  Bundle b;
  b.config["linux"]["cgroupsPath"] = cgroup;
  b.config["linux"]["resources"]["memory"] = {{"limit", 64 << 20}, {"kernel", 32 << 20}, {"kernelTCP", 16 << 20}};
  b.set_args({"sleep", "600"});
  b.write();
  auto r = run_detached(rt, {"run", "-d", "--bundle", b.path(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(value(memory_file(cgroup, "memory.limit_in_bytes")), std::to_string(64 << 20));
  const std::string tcp = memory_file(cgroup, "memory.kmem.tcp.limit_in_bytes");
  // Unlimited, as runc 1.1 leaves it too.
  if (path_exists(tcp)) {
    EXPECT_NE(value(tcp), std::to_string(16 << 20));
  }
  if (!is_runc(rt)) {
    EXPECT_EQ(occurrences(r.err, "linux.resources.memory.kernel 33554432: ignored"), 1) << r.err;
    EXPECT_EQ(occurrences(r.err, "linux.resources.memory.kernelTCP 16777216: ignored"), 1) << r.err;
  }

  // What containerd hands on from `docker update --memory 96m`.
  r = rt({"update", "-r", "-", id}, R"({"memory": {"limit": 100663296, "swap": -1, "kernel": 0, "kernelTCP": 0}})");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(value(memory_file(cgroup, "memory.limit_in_bytes")), std::to_string(96 << 20));
  if (!is_runc(rt)) {
    EXPECT_EQ(r.err, "");
  }

  r = rt({"update", "--memory", "128m", "--kernel-memory", "32m", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(value(memory_file(cgroup, "memory.limit_in_bytes")), std::to_string(128 << 20));
  if (!is_runc(rt)) {
    EXPECT_EQ(occurrences(r.err, "update: memory.kernel 33554432: ignored"), 1) << r.err;
  }

  // Not deprecated, not applicable (no CPU 99): an error.
  r = rt({"update", "--cpuset-cpus", "99", id});
  EXPECT_NE(r.exit_code, 0);
  if (!is_runc(rt)) {
    EXPECT_NE(r.err.find("cpu.cpus"), std::string::npos) << r.err;
  }

  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  EXPECT_FALSE(path_exists(memory_file(cgroup, "")));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, DeprecatedMemory, ::testing::ValuesIn(kRuntimesUnderTest));

// Capabilities that cannot be granted: one warning listing them, and the
// process runs with the others (runc 1.1 warns the same way; crun 1.8
// says nothing).
TEST_P(Capabilities, ThoseThatCannotBeGrantedAreLeftOutWithOneWarning) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  BERTH_USE_RUNTIME(rt, GetParam());
  Bundle b;
  for (const char* set : {"bounding", "effective", "permitted"})
    b.config["process"]["capabilities"][set] = {"CAP_KILL", "CAP_TELEPORT"};
  b.config["process"]["capabilities"].erase("ambient");
  b.set_args({"grep", "CapEff", "/proc/self/status"});
  b.write();
  auto r = rt({"run", "--bundle", b.path(), Runtime::unique_id("caps")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "CapEff:\t0000000000000020\n");  // CAP_KILL alone
  EXPECT_EQ(occurrences(r.err, "CAP_TELEPORT"), 1) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Runtimes, Capabilities, ::testing::ValuesIn(kRuntimesUnderTest));
