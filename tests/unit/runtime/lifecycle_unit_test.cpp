// Pure pieces of the lifecycle code: signal names, container ids, state files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/container.hpp"
#include "runtime/state.hpp"
#include "test_support.hpp"

using namespace berth::runtime;

TEST(LifecycleUnit, ParseSignalNamesAndNumbers) {
  EXPECT_EQ(parse_signal("9"), SIGKILL);
  EXPECT_EQ(parse_signal("KILL"), SIGKILL);
  EXPECT_EQ(parse_signal("SIGKILL"), SIGKILL);
  EXPECT_EQ(parse_signal("sigterm"), SIGTERM);
  EXPECT_EQ(parse_signal("15"), SIGTERM);
  EXPECT_EQ(parse_signal("SIGWINCH"), SIGWINCH);
  EXPECT_EQ(parse_signal("USR1"), SIGUSR1);
  EXPECT_EQ(parse_signal("RTMIN+2"), SIGRTMIN + 2);
  for (const char* bad : {"", "0", "65", "SIGNOPE", "9x", "-9"}) EXPECT_THROW(parse_signal(bad), berth::Error) << bad;
}

TEST(LifecycleUnit, ValidateId) {
  for (const char* ok : {"a", "web-1", "x_y.z+1", "0123456789abcdef"}) EXPECT_NO_THROW(validate_id(ok)) << ok;
  for (const char* bad : {"", ".", "..", ".hidden", "a/b", "../x", "sp ace", "new\nline"})
    EXPECT_THROW(validate_id(bad), berth::Error) << bad;
}

TEST(LifecycleUnit, StateRoundTripAndDerivedStatus) {
  berth::testing::TempDir root;
  ContainerState st;
  st.id = "c1";
  st.oci_version = "1.2.0";
  st.bundle = "/b";
  st.rootfs = "/b/rootfs";
  st.created = now_rfc3339();
  st.owner = "root";
  st.annotations = {{"k", "v"}};
  st.recorded = Status::Running;
  // Our own process stands in for a live init.
  st.pid = getpid();
  st.pid_start_time = *process_start_time(getpid());
  ASSERT_EQ(::mkdir((root.path() + "/c1").c_str(), 0700), 0);
  save_state(root.path(), st);
  ContainerState back = load_state(root.path(), "c1");
  EXPECT_EQ(back.bundle, "/b");
  EXPECT_EQ(back.annotations.at("k"), "v");
  EXPECT_EQ(current_status(root.path(), back), Status::Running);
  // A pid reused by another process (different start time) is not ours.
  back.pid_start_time += 1;
  EXPECT_EQ(current_status(root.path(), back), Status::Stopped);
  auto j = nlohmann::json::parse(state_json(back, Status::Stopped, false));
  EXPECT_EQ(j["pid"], 0);
  EXPECT_EQ(j["status"], "stopped");
  for (const char* k : {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner", "annotations"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(list_ids(root.path()), std::vector<std::string>{"c1"});
  EXPECT_THROW(load_state(root.path(), "nope"), berth::Error);
}
