// Container records in SQLite (engine/container_store.hpp): stored compact
// (zero-valued members dropped), and read back exactly as written, including
// the values whose absence would mean something else.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
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

namespace {

// What a listing row must carry: every field `ps` shows or filters on, and
// every field sync folds (container_store.hpp).
nlohmann::json listed_fields(const Container& c) {
  nlohmann::json mounts = nlohmann::json::array(), nets = nlohmann::json::array(), ports = nlohmann::json::array();
  for (const auto& m : c.mounts) mounts.push_back({m.type, m.name, m.source});
  for (const auto& e : c.networks) nets.push_back(e.network);
  for (const auto& p : c.ports) ports.push_back({p.container_port, p.host_ip, p.host_port});
  return {{"id", c.id},           {"name", c.name},          {"created", c.created},
          {"image", c.config.image}, {"image_id", c.image_id}, {"path", c.path},
          {"args", c.args},       {"init", c.host.init},     {"network_mode", c.host.network_mode},
          {"labels", c.config.labels}, {"mounts", mounts},    {"networks", nets},
          {"ports", ports},       {"state", nlohmann::json(c.state)}, {"restart_count", c.restart_count},
          {"creator_pid", c.creator_pid}, {"creator_start", c.creator_start}};
}

Container rich(const std::string& id) {
  Container c = sample(id);
  c.image_id = "sha256:" + std::string(64, 'e');
  c.args = {"-c", "sleep 1; echo \"quoted\""};
  c.host.init = true;
  c.host.network_mode = "web";
  c.config.labels = {{"tier", "front"}, {"empty", ""}};
  c.mounts.push_back({"volume", "data", "/var/lib/berth/volumes/data/_data", "/data", "", true, false, false});
  c.mounts.push_back({"bind", "", "/srv", "/srv", "ro", false, false, false});
  c.networks.push_back({});
  c.networks.back().network = "web";
  c.networks.back().ip_address = "10.89.0.2";
  c.ports.push_back({"80/tcp", "127.0.0.1", "8080"});
  c.state.status = "running";
  c.state.pid = 4242;
  c.state.exit_code = 3;
  c.state.oom_killed = true;
  c.state.error = "it went wrong";
  c.state.started_at = "2026-12-06T01:02:03.123Z";
  c.state.health = HealthState{"unhealthy", 2, R"([{"ExitCode":1,"Output":"no"}])"};
  c.restart_count = 5;
  c.creator_pid = 77;
  c.creator_start = "12345";
  return c;
}

}  // namespace

TEST_F(ContainerStoreTest, ListingRowsCarryWhatPsShowsAndSyncFolds) {
  store.insert(sample("d1"));
  store.insert(rich("d2"));
  auto rows = store.listing();
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    EXPECT_TRUE(row.listing_only);
    EXPECT_EQ(listed_fields(row), listed_fields(store.get(row.id))) << row.id;
  }
  // An update writes the listing columns too.
  Container c = store.get("d2");
  c.state.status = "exited";
  c.state.health.reset();
  c.ports.clear();
  c.config.labels.clear();
  store.update(c);
  for (const auto& row : store.listing()) {
    if (row.id == "d2") {
      EXPECT_EQ(listed_fields(row), listed_fields(c));
    }
  }
}

TEST_F(ContainerStoreTest, AListingRowIsNeverWrittenBack) {
  store.insert(rich("e1"));
  Container row = store.listing().at(0);
  try {
    store.update(row);
    FAIL() << "a listing row was stored over its record";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("listing row"), std::string::npos) << e.what();
  }
  EXPECT_EQ(nlohmann::json(store.get("e1")), nlohmann::json(rich("e1")));
}

TEST(ContainerStoreMigration, ADatabaseFromBeforeTheListingColumnsGetsThemFilled) {
  berth::testing::TempDir dir;
  Database db{dir.path() + "/berth.db"};
  // The table as berth 0.1 made it, with one record in it.
  db.exec("CREATE TABLE containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created TEXT NOT NULL,"
          " record TEXT NOT NULL)");
  Container c = rich("f1");
  db.prepare("INSERT INTO containers (id, name, created, record) VALUES (?, ?, ?, ?)")
      .bind(1, c.id)
      .bind(2, c.name)
      .bind(3, c.created)
      .bind(4, nlohmann::json(c).dump())
      .run();
  ContainerStore store{db};
  auto rows = store.listing();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(listed_fields(rows[0]), listed_fields(c));
  ContainerStore again{db};  // a second open finds them there
  EXPECT_EQ(again.listing().size(), 1u);
}
