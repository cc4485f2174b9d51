// Bad input: each case gets one line on stderr, a non-zero exit with the
// code of its kind, and leaves no cgroup, mount, process or state behind.
#include <functional>

#include "runtime_checks.hpp"

using namespace berth::testing;
using nlohmann::json;

namespace {

struct Outcome {
  RunResult r;
  std::string id;
};

Outcome create_with(Bundle& b, Runtime& rt) {
  std::string id = Runtime::unique_id("bad");
  return {run_detached(rt, {"create", "--bundle", b.path(), id}), id};
}

void expect_clean_failure(const Outcome& o, Runtime& rt, Bundle& b, int code, const std::string& needle) {
  EXPECT_EQ(o.r.exit_code, code) << o.r.err;
  EXPECT_EQ(count_lines(o.r.err), 1) << o.r.err;
  EXPECT_EQ(o.r.err.rfind("berth-runtime: ", 0), 0u) << o.r.err;
  EXPECT_NE(o.r.err.find(needle), std::string::npos) << o.r.err;
  EXPECT_NO_LEFTOVERS(rt, b, o.id);
}

}  // namespace

TEST(BadInput, MalformedConfigJson) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  std::ofstream(b.path() + "/config.json") << "{\"ociVersion\": \"1.0.2\", \"process\": ";
  Runtime rt;
  expect_clean_failure(create_with(b, rt), rt, b, 2, "malformed JSON");
}

TEST(BadInput, UnknownNamespaceType) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["linux"]["namespaces"].push_back({{"type", "bogus"}});
  b.write();
  Runtime rt;
  expect_clean_failure(create_with(b, rt), rt, b, 2, "linux.namespaces[6].type: unknown namespace type \"bogus\"");
}

TEST(BadInput, UnsupportedFieldIsNamed) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["linux"]["intelRdt"] = {{"closID", "guaranteed_group"}};
  b.write();
  Runtime rt;
  expect_clean_failure(create_with(b, rt), rt, b, 6, "linux.intelRdt");
}

TEST(BadInput, MissingRootfs) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["root"]["path"] = "no-such-rootfs";
  b.write();
  Runtime rt;
  expect_clean_failure(create_with(b, rt), rt, b, 3, "root.path");
}

TEST(BadInput, MissingBundle) {
  Runtime rt;
  std::string id = Runtime::unique_id("nobundle");
  auto r = rt({"create", "--bundle", "/nonexistent/bundle", id});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_FALSE(path_exists(rt.root() + "/" + id));
}

TEST(BadInput, BadMountSource) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", "/nonexistent/source/dir"},
                                {"options", {"rbind"}}});
  b.write();
  Runtime rt;
  auto o = create_with(b, rt);
  EXPECT_NE(o.r.exit_code, 0);
  EXPECT_EQ(count_lines(o.r.err), 1) << o.r.err;
  EXPECT_NE(o.r.err.find("/nonexistent/source/dir"), std::string::npos) << o.r.err;
  EXPECT_NO_LEFTOVERS(rt, b, o.id);
}

TEST(BadInput, MissingExecutable) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"/bin/no-such-binary"});
  b.write();
  Runtime rt;
  auto o = create_with(b, rt);
  EXPECT_NE(o.r.exit_code, 0);
  EXPECT_EQ(count_lines(o.r.err), 1) << o.r.err;
  EXPECT_NE(o.r.err.find("no-such-binary"), std::string::npos) << o.r.err;
  EXPECT_NO_LEFTOVERS(rt, b, o.id);
}

TEST(BadInput, IdAlreadyInUse) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("dup");
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), id}).exit_code, 0);
  int pid = state_of(rt, id)["pid"];
  auto r = run_detached(rt, {"create", "--bundle", b.path(), id});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  // The first container is untouched.
  EXPECT_EQ(state_of(rt, id)["status"], "created");
  EXPECT_EQ(state_of(rt, id)["pid"], pid);
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(BadInput, InvalidId) {
  Runtime rt;
  for (std::string id : {"../escape", "a/b", ".hidden", "sp ace"}) {
    auto r = rt({"create", "--bundle", "/tmp", id});
    EXPECT_EQ(r.exit_code, 2) << id << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
}

// Ids too long for a name derived from them (the exec fifo ".<id>.fifo",
// the state's ".<id>.tmp.<pid>") are refused before anything is claimed;
// the longest allowed one works end to end.
TEST(BadInput, LongIdIsRefusedUpFront) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"true"});
  b.write();
  Runtime rt;
  for (size_t n : {243, 249, 255}) {
    Outcome o{run_detached(rt, {"create", "--bundle", b.path(), std::string(n, 'l')}), std::string(n, 'l')};
    expect_clean_failure(o, rt, b, 2, "id too long");
    EXPECT_TRUE(state_files_of(rt, o.id).empty());
    EXPECT_EQ(rt({"delete", "--force", o.id}).exit_code, 2);  // no such id can exist
  }
  std::string id(242, 'l');
  auto r = run_detached(rt, {"create", "--bundle", b.path(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(rt({"start", id}).exit_code, 0);
  EXPECT_EQ(rt({"delete", "--force", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
  EXPECT_TRUE(state_files_of(rt, std::string(242, 'l')).empty());
}

TEST(BadInput, StartOfRunningContainer) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("startrun");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  auto r = rt({"start", id});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(state_of(rt, id)["status"], "running");
  EXPECT_EQ(rt({"delete", "-f", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(BadInput, UnknownIdForEveryVerb) {
  Runtime rt;
  for (auto args : std::vector<std::vector<std::string>>{{"start", "ghost"},
                                                         {"state", "ghost"},
                                                         {"kill", "ghost", "KILL"},
                                                         {"delete", "ghost"},
                                                         {"pause", "ghost"},
                                                         {"resume", "ghost"},
                                                         {"ps", "ghost"},
                                                         {"exec", "ghost", "true"}}) {
    auto r = rt(args);
    EXPECT_EQ(r.exit_code, 3) << args[0] << ": " << r.err;
    EXPECT_EQ(r.err, "berth-runtime: container ghost does not exist\n") << args[0];
  }
  // As runc: a forced delete of what is already gone succeeds (the shim
  // deletes again in its cleanup).
  auto r = rt({"delete", "--force", "ghost"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(BadInput, UsageErrors) {
  Runtime rt;
  for (auto args : std::vector<std::vector<std::string>>{
           {"frobnicate"}, {"create"}, {"kill"}, {"start", "a", "b"}, {"create", "--no-such-flag", "x"},
           {"--log-format", "xml", "list"}, {"list", "--format", "yaml"}}) {
    auto r = rt(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
}

TEST(BadInput, BadCgroupResourceIsNamedAndUndone) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["linux"]["resources"]["cpu"] = {{"cpus", "9999"}};
  b.write();
  Runtime rt;
  auto o = create_with(b, rt);
  EXPECT_NE(o.r.exit_code, 0);
  EXPECT_EQ(count_lines(o.r.err), 1) << o.r.err;
  EXPECT_NE(o.r.err.find("linux.resources.cpu.cpus"), std::string::npos) << o.r.err;
  EXPECT_NO_LEFTOVERS(rt, b, o.id);
}

// `run` starts its init another way than `create` (it shares the runtime's
// memory until its execve: clone_vfork.hpp), so every failure is checked
// again through it: before the cgroup (a bad resource), in the child's
// set-up (a mount, the executable) and after it said ready (process.cwd,
// applied just before execve).
TEST(BadInput, RunFailsAsCleanlyAsCreate) {
  BERTH_REQUIRE_BUSYBOX();
  struct Case {
    const char* what;
    std::function<void(Bundle&)> edit;
    std::string needle;
  };
  std::vector<Case> cases = {
      {"bad mount source",
       [](Bundle& b) {
         b.config["mounts"].push_back({{"destination", "/data"},
                                       {"type", "bind"},
                                       {"source", "/nonexistent/source/dir"},
                                       {"options", {"rbind"}}});
       },
       "/nonexistent/source/dir"},
      {"missing executable", [](Bundle& b) { b.set_args({"/bin/no-such-binary"}); }, "no-such-binary"},
      {"bad cgroup resource", [](Bundle& b) { b.config["linux"]["resources"]["cpu"] = {{"cpus", "9999"}}; },
       "linux.resources.cpu.cpus"},
      {"missing cwd", [](Bundle& b) { b.config["process"]["cwd"] = "/no/such/cwd"; }, "process.cwd"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Bundle b;
    b.set_args({"true"});
    c.edit(b);
    b.write();
    Runtime rt;
    std::string id = Runtime::unique_id("badrun");
    auto r = rt({"run", "--bundle", b.path(), id});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("berth-runtime: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_NO_LEFTOVERS(rt, b, id);
  }
}
