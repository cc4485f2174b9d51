// Pure pieces of the lifecycle code: signal names, container ids, state files.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
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
  // Every name made from an id must fit in NAME_MAX: the longest is the
  // state's temp file ".<id>.tmp.<pid>".
  EXPECT_NO_THROW(validate_id(std::string(kMaxIdLength, 'a')));
  EXPECT_LE(std::string(".").size() + kMaxIdLength + std::string(".tmp.4194304").size(), 255u);
  for (size_t n : {kMaxIdLength + 1, size_t{249}, size_t{255}, size_t{256}, size_t{2000}}) {
    try {
      validate_id(std::string(n, 'a'));
      ADD_FAILURE() << n << " characters accepted";
    } catch (const berth::Error& e) {
      EXPECT_NE(std::string(e.what()).find("id too long"), std::string::npos) << e.what();
    }
  }
}

TEST(LifecycleUnit, StateRoundTripAndDerivedStatus) {
  berth::testing::TempDir root;
  ContainerState st;
  st.id = "c1";
  st.oci_version = "1.2.0";
  st.bundle = "/b";
  st.rootfs = "/b/rootfs";
  st.created = berth::now_rfc3339();
  st.owner = "root";
  st.annotations = {{"k", "v"}};
  st.recorded = Status::Running;
  // Our own process stands in for a live init.
  st.pid = getpid();
  st.pid_start_time = *process_start_time(getpid());
  ContainerState creating = st;
  creating.recorded = Status::Creating;
  creating.pid = 0;
  creating.config = "{\"linux\": {\"cgroupsPath\": \"/x/c1\"}}";
  reserve_state(root.path(), creating);
  // Reserved: no init yet, but the bundle and config a `delete --force`
  // needs to find what a killed create made.
  ContainerState reserved = load_state(root.path(), "c1");
  EXPECT_EQ(reserved.recorded, Status::Creating);
  EXPECT_EQ(current_status(root.path(), reserved), Status::Creating);
  EXPECT_EQ(reserved.bundle, "/b");
  EXPECT_EQ(reserved.config, creating.config);
  EXPECT_THROW(reserve_state(root.path(), creating), berth::Error);  // the id is taken
  // The config follows the JSON line as it was read: newlines, escapes and
  // all, byte for byte.
  st.config = "{\n  \"ociVersion\": \"1.2.0\",\n  \"process\": {\"args\": [\"sh\", \"-c\", \"echo \\\"a\\nb\\\"\"]}\n}\n";
  save_state(root.path(), st);
  ContainerState back = load_state(root.path(), "c1");
  EXPECT_FALSE(back.legacy_dir);
  EXPECT_EQ(back.config, st.config);
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

  // A file of the previous release: one JSON document, the config inside.
  nlohmann::json old = {{"id", "c1"}, {"pid", 1}, {"bundle", "/old"}, {"status", "running"},
                        {"config", "{\"ociVersion\": \"1.0.2\"}"}};
  berth::fs::write_file(root.path() + "/c1", old.dump(2));
  ContainerState legacy = load_state(root.path(), "c1");
  EXPECT_EQ(legacy.bundle, "/old");
  EXPECT_EQ(legacy.config, "{\"ociVersion\": \"1.0.2\"}");
}

// A "creating" record with an init (a create that recorded it, then died
// or goes on) follows that init: creating while it lives, stopped after.
TEST(LifecycleUnit, CreatingRecordFollowsItsInit) {
  berth::testing::TempDir root;
  ContainerState st;
  st.id = "c3";
  st.pid = getpid();
  st.pid_start_time = *process_start_time(getpid());
  EXPECT_EQ(current_status(root.path(), st), Status::Creating);
  // Even with the exec fifo there: the init may not be waiting yet.
  ASSERT_EQ(::mkfifo(exec_fifo_path(root.path(), "c3").c_str(), 0600), 0);
  EXPECT_EQ(current_status(root.path(), st), Status::Creating);
  st.pid_start_time += 1;
  EXPECT_EQ(current_status(root.path(), st), Status::Stopped);
}

// One file per container, no directory; the dot entries (fifo, temp files,
// caches) are never ids.
TEST(LifecycleUnit, StateIsOneFileAndRemoveLeavesNothing) {
  berth::testing::TempDir root;
  ContainerState st;
  st.id = "c2";
  reserve_state(root.path(), st);
  ASSERT_EQ(::mkfifo(exec_fifo_path(root.path(), "c2").c_str(), 0600), 0);
  ASSERT_EQ(::mkdir((root.path() + "/.seccomp-cache").c_str(), 0700), 0);
  // Temp files of writers killed before their rename: c2's go with it.
  berth::fs::write_file(root.path() + "/.c2.tmp.4194304", "{}");
  berth::fs::write_file(root.path() + "/.c22.tmp.7", "{}");
  st.pid = 1;
  save_state(root.path(), st);
  struct stat sb;
  ASSERT_EQ(::lstat((root.path() + "/c2").c_str(), &sb), 0);
  EXPECT_TRUE(S_ISREG(sb.st_mode));
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  EXPECT_EQ(list_ids(root.path()), std::vector<std::string>{"c2"});
  remove_state(root.path(), "c2", false);
  EXPECT_FALSE(berth::fs::exists(root.path() + "/c2"));
  EXPECT_FALSE(berth::fs::exists(exec_fifo_path(root.path(), "c2")));
  EXPECT_FALSE(berth::fs::exists(root.path() + "/.c2.tmp.4194304"));
  EXPECT_TRUE(berth::fs::exists(root.path() + "/.c22.tmp.7"));  // another container's
  EXPECT_TRUE(list_ids(root.path()).empty());
  remove_state(root.path(), "c2", false);  // gone already: fine
}

// A container made by an older berth-runtime (<root>/<id>/state.json) is
// still read, updated in place and removed with its directory.
TEST(LifecycleUnit, LegacyStateDirectory) {
  berth::testing::TempDir root;
  ASSERT_EQ(::mkdir((root.path() + "/old").c_str(), 0700), 0);
  EXPECT_EQ(load_state(root.path(), "old").recorded, Status::Creating);
  EXPECT_TRUE(load_state(root.path(), "old").legacy_dir);
  ContainerState st;
  st.id = "old";
  st.legacy_dir = true;
  st.bundle = "/b";
  save_state(root.path(), st);
  EXPECT_TRUE(berth::fs::exists(root.path() + "/old/state.json"));
  ContainerState back = load_state(root.path(), "old");
  EXPECT_TRUE(back.legacy_dir);
  EXPECT_EQ(back.bundle, "/b");
  EXPECT_EQ(exec_fifo_path(root.path(), "old", true), root.path() + "/old/exec.fifo");
  EXPECT_EQ(list_ids(root.path()), std::vector<std::string>{"old"});
  EXPECT_THROW(reserve_state(root.path(), st), berth::Error);
  remove_state(root.path(), "old", true);
  EXPECT_FALSE(berth::fs::exists(root.path() + "/old"));
}
