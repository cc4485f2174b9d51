// Which clone a config gets (docs/runtime.md, "How it works"): whether the
// init shares the runtime's memory, and whether a created init waits in
// berth-init-wait. A regression here would silently cost every start the
// copy of the runtime (or put the runtime binary back in created
// containers), and no functional test would notice.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/clone_vfork.hpp"
#include "runtime/init.hpp"
#include "runtime/sealed_exe.hpp"

using namespace berth;
using nlohmann::json;

namespace {

json base() {
  return json::parse(R"({
    "ociVersion": "1.0.2",
    "process": {"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
    "root": {"path": "rootfs"},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network"}, {"type": "ipc"},
                             {"type": "uts"}]}
  })");
}

oci::Spec spec_of(const json& j) { return oci::parse_spec(j.dump()); }

struct Mode {
  bool run_shares, create_shares, create_helper, create_sealed;
};

Mode mode_of(const json& j) {
  oci::Spec s = spec_of(j);
  return {runtime::init_shares_memory(s, true), runtime::init_shares_memory(s, false),
          runtime::init_waits_in_helper(s, false), runtime::init_visible_to_container(s, false)};
}

}  // namespace

TEST(InitMode, PlainConfigSharesMemoryAndWaitsInTheHelper) {
  if (!runtime::clone_vfork_supported()) GTEST_SKIP() << "no shared-memory clone on this architecture";
  Mode m = mode_of(base());
  EXPECT_TRUE(m.run_shares);
  EXPECT_TRUE(m.create_shares);
  EXPECT_TRUE(m.create_helper);
  EXPECT_FALSE(m.create_sealed);
  EXPECT_FALSE(runtime::init_waits_in_helper(spec_of(base()), true)) << "run has no fifo to wait on";
  EXPECT_FALSE(runtime::init_visible_to_container(spec_of(base()), true));
}

TEST(InitMode, WhatTheParentDoesMidwayKeepsTheForkLikeCloneButNotTheRuntimeInPid1) {
  if (!runtime::clone_vfork_supported()) GTEST_SKIP() << "no shared-memory clone on this architecture";
  json user = base();
  user["linux"]["namespaces"].push_back({{"type", "user"}});
  user["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  user["linux"]["gidMappings"] = user["linux"]["uidMappings"];
  json prestart = base();
  prestart["hooks"]["prestart"] = json::array({{{"path", "/bin/true"}}});
  json create_runtime = base();
  create_runtime["hooks"]["createRuntime"] = json::array({{{"path", "/bin/true"}}});
  json time_join = base();
  time_join["linux"]["namespaces"].push_back({{"type", "time"}, {"path", "/proc/1/ns/time"}});
  for (const json& j : {user, prestart, create_runtime, time_join}) {
    SCOPED_TRACE(j.dump());
    Mode m = mode_of(j);
    EXPECT_FALSE(m.run_shares);
    EXPECT_FALSE(m.create_shares);
    EXPECT_TRUE(m.create_helper);
    EXPECT_FALSE(m.create_sealed);
  }
  json new_time = base();
  new_time["linux"]["namespaces"].push_back({{"type", "time"}});
  EXPECT_TRUE(mode_of(new_time).run_shares) << "a new time namespace is unshared, not joined";
}

TEST(InitMode, StartContainerHooksAndNotifyKeepTheCreatedInitInTheRuntime) {
  if (!runtime::clone_vfork_supported()) GTEST_SKIP() << "no shared-memory clone on this architecture";
  json hook = base();
  hook["hooks"]["startContainer"] = json::array({{{"path", "/bin/true"}}});
  json notify = base();
  notify["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                {"syscalls", json::array({{{"names", {"mkdir"}}, {"action", "SCMP_ACT_NOTIFY"}}})}};
  json listener = base();
  listener["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"listenerPath", "/run/x.sock"}};
  for (const json& j : {hook, notify, listener}) {
    SCOPED_TRACE(j.dump());
    Mode m = mode_of(j);
    EXPECT_FALSE(m.create_shares);
    EXPECT_FALSE(m.create_helper);
    EXPECT_TRUE(m.create_sealed);
  }
  EXPECT_TRUE(mode_of(hook).create_sealed);
  EXPECT_TRUE(mode_of(notify).run_shares) << "run's init execs the process itself";
}

TEST(InitMode, SealedWhereverAContainerProcessCanSeeTheInit) {
  json joined_pid = base();
  joined_pid["linux"]["namespaces"][0]["path"] = "/proc/1/ns/pid";
  json no_pid = base();
  no_pid["linux"]["namespaces"].erase(0);
  json create_container = base();
  create_container["hooks"]["createContainer"] = json::array({{{"path", "/bin/true"}}});
  for (const json& j : {joined_pid, no_pid, create_container}) {
    SCOPED_TRACE(j.dump());
    EXPECT_TRUE(runtime::init_visible_to_container(spec_of(j), true));
    EXPECT_TRUE(runtime::init_visible_to_container(spec_of(j), false));
  }
}
