// linux.personality, process.scheduler, linux.memoryPolicy and
// process.execCPUAffinity reach the container's processes, read back from
// /proc inside. runc 1.1 (spec 1.0.2) predates these fields and ignores
// them; runc 1.2+ and crun apply them.
#include <unistd.h>

#include "reference_runtime.hpp"

using namespace berth::testing;
using nlohmann::json;

namespace {

bool has_numa_node0() { return path_exists("/sys/devices/system/node/node0"); }

class ProcessFields : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(ProcessFields, PersonalitySchedulerAndMemoryPolicy) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  BERTH_USE_RUNTIME(rt, GetParam());
  Bundle b;
  b.config["linux"]["personality"] = {{"domain", "LINUX32"}};
  b.config["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 7}};
  if (has_numa_node0()) b.config["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}, {"nodes", "0"}};
  // uname's machine, then nice (field 19) and policy (41, SCHED_BATCH = 3)
  // of a child, then whether its mappings are bound to node 0.
  const std::string probe =
      "uname -m; cut -d' ' -f19,41 /proc/self/stat; grep -q ' bind:0 ' /proc/self/numa_maps && echo bound || "
      "echo unbound";
  b.set_args({"sh", "-c", probe + "; exec sleep 600"});
  b.write();
  std::string id = Runtime::unique_id("procfields");
  auto r = run_detached(rt, {"run", "-d", "--bundle", b.path(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // exec'd processes get them too (the personality and memory policy are
  // the container's, the scheduler the process's, which exec inherits).
  auto e = rt({"exec", id, "sh", "-c", probe});
  EXPECT_EQ(e.exit_code, 0) << e.err;
  const std::string numa = has_numa_node0() ? "bound\n" : "unbound\n";
  if (is_runc(rt)) {
    EXPECT_EQ(e.out, "x86_64\n0 0\nunbound\n");
  } else {
    EXPECT_EQ(e.out, "i686\n7 3\n" + numa);
  }
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
}

// execCPUAffinity is for exec only: the init runs on every CPU; an exec
// runs on its final list, or, with only an initial one, where the init does.
TEST_P(ProcessFields, ExecCpuAffinity) {
  BERTH_REQUIRE_BUSYBOX();
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs 2 CPUs";
  Runtime rt;
  BERTH_USE_RUNTIME(rt, GetParam());
  Bundle b;
  b.config["process"]["execCPUAffinity"] = {{"final", "1"}};
  b.set_args({"sleep", "600"});
  b.write();
  std::string id = Runtime::unique_id("execaff");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  const std::string init_cpus = "0-" + std::to_string(sysconf(_SC_NPROCESSORS_ONLN) - 1);
  auto allowed = [&](const std::vector<std::string>& exec_args) {
    std::vector<std::string> args = {"exec"};
    args.insert(args.end(), exec_args.begin(), exec_args.end());
    auto r = rt(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(allowed({id, "grep", "Cpus_allowed_list", "/proc/1/status"}), "Cpus_allowed_list:\t" + init_cpus + "\n");
  const std::string exec_cpus = is_runc(rt) ? init_cpus : "1";
  EXPECT_EQ(allowed({id, "grep", "Cpus_allowed_list", "/proc/self/status"}), "Cpus_allowed_list:\t" + exec_cpus + "\n");
  TempDir d;
  std::string process = d.path() + "/process.json";
  std::ofstream(process) << json{{"args", {"/bin/grep", "Cpus_allowed_list", "/proc/self/status"}},
                                 {"cwd", "/"},
                                 {"execCPUAffinity", {{"initial", "1"}}}}
                                .dump();
  EXPECT_EQ(allowed({"-p", process, id}), "Cpus_allowed_list:\t" + init_cpus + "\n");
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ProcessFields, ::testing::ValuesIn(kRuntimesUnderTest));

// A scheduler the kernel refuses fails create with its errno and the field.
TEST(ProcessFields, RefusedSchedulerNamesTheField) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  b.config["process"]["scheduler"] = {{"policy", "SCHED_ISO"}};
  b.write();
  std::string id = Runtime::unique_id("procfields");
  auto r = rt({"run", "--bundle", b.path(), id});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("process.scheduler: sched_setattr SCHED_ISO"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("EINVAL"), std::string::npos) << r.err;
  EXPECT_NO_LEFTOVERS(rt, b, id);
}
