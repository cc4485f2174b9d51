// Container records in SQLite (engine/container_store.hpp): stored compact
// (zero-valued members dropped), and read back exactly as written, including
// the values whose absence would mean something else.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/sqlite.hpp"
#include "engine/container_store.hpp"
#include "test_support.hpp"

using namespace berth;
using namespace berth::engine;

namespace {

struct ContainerStoreTest : ::testing::Test {
  berth::testing::TempDir dir;
  Database db{dir.path() + "/berth.db"};
  ContainerStore store{db};

  std::string stored(const std::string& id) {
    auto st = db.prepare("SELECT record FROM containers WHERE id = ?");
    st.bind(1, id);
    EXPECT_TRUE(st.step());
    return st.text(0);
  }
};

Container sample(const std::string& id) {
  Container c;
  c.id = id;
  c.name = "n" + id;
  c.created = "2026-12-06T00:00:00Z";
  c.path = "sleep";
  c.args = {"1"};
  c.config.cmd = std::vector<std::string>{"sleep", "1"};
  c.config.image = "busybox";
  return c;
}

}  // namespace

TEST_F(ContainerStoreTest, ZeroValuedMembersAreNotStored) {
  Container c = sample("a1");
  store.insert(c);
  std::string text = stored("a1");
  EXPECT_EQ(text.find("\"Privileged\""), std::string::npos) << text;
  EXPECT_EQ(text.find("\"CapAdd\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"AttachStdout\":true"), std::string::npos) << text;  // its default is true: kept
  EXPECT_EQ(nlohmann::json(store.get("a1")), nlohmann::json(c));
}

TEST_F(ContainerStoreTest, ValuesWhoseAbsenceMeansSomethingElseReadBack) {
  Container c = sample("b2");
  c.config.attach_stdout = c.config.attach_stderr = false;  // run -d: the default is true
  c.config.entrypoint = std::vector<std::string>{};          // --entrypoint "": not the image's
  c.config.cmd = std::vector<std::string>{};
  c.config.stop_timeout = 0;                                  // not "the default"
  c.config.labels = {{"empty", ""}};                          // a map keeps its empty values
  c.host.mounts.push_back({"tmpfs", "", "/t", false, ""});
  MountPoint ro;
  ro.type = "bind";
  ro.source = "/src";
  ro.destination = "/dst";
  ro.rw = false;  // the default is true
  c.mounts.push_back(ro);
  store.insert(c);
  Container back = store.get("b2");
  EXPECT_EQ(nlohmann::json(back), nlohmann::json(c));
  ASSERT_TRUE(back.config.entrypoint.has_value());
  EXPECT_TRUE(back.config.entrypoint->empty());
  ASSERT_TRUE(back.config.stop_timeout.has_value());
  EXPECT_FALSE(back.mounts.at(0).rw);
  EXPECT_FALSE(back.config.attach_stdout);
}

TEST_F(ContainerStoreTest, UpdatesAreCompactToo) {
  Container c = sample("c3");
  store.insert(c);
  c.state.status = "exited";
  c.state.exit_code = 3;
  c.state.oom_killed = false;
  store.update(c);
  EXPECT_EQ(nlohmann::json(store.get("c3")), nlohmann::json(c));
  EXPECT_EQ(stored("c3").find("\"OOMKilled\""), std::string::npos);
}
