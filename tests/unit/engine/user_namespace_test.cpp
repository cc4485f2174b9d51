// --userns / --uidmap parsing and the pool of host id ranges (SQLite).
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/sqlite.hpp"
#include "engine/container_spec.hpp"
#include "engine/user_namespace.hpp"
#include "test_support.hpp"

namespace berth::engine {
namespace {

TEST(UserNamespace, ParsesAndPrintsIdMaps) {
  auto m = parse_id_maps({"0:1000:65536", "65536:5:1"}, "--uidmap");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].container_id, 0u);
  EXPECT_EQ(m[0].host_id, 1000u);
  EXPECT_EQ(m[0].size, 65536u);
  EXPECT_EQ(id_maps_to_strings(m), (std::vector<std::string>{"0:1000:65536", "65536:5:1"}));
  EXPECT_EQ(host_id_of(m, 7), 1007);
  EXPECT_EQ(host_id_of(m, 65536), 5);
  EXPECT_EQ(host_id_of(m, 65537), -1);
  for (const char* bad : {"0:1", "a:1:1", "0:1:0", "0:1:-1", "1:2:3:4", "0:4294967290:100", ""})
    EXPECT_THROW(parse_id_maps({bad}, "--uidmap"), Error) << bad;
}

TEST(UserNamespace, ChecksModesAndFillsGids) {
  HostConfig h;
  h.uid_maps = parse_id_maps({"0:100000:10"}, "--uidmap");
  check_userns(h);
  EXPECT_EQ(id_maps_to_strings(h.gid_maps), std::vector<std::string>{"0:100000:10"});  // gids as uids
  HostConfig unmapped_root;
  unmapped_root.uid_maps = parse_id_maps({"1:100000:10"}, "--uidmap");
  EXPECT_THROW(check_userns(unmapped_root), Error);
  for (const char* bad : {"bogus", "auto:size=0", "auto:size=65537", "auto:bogus=1"}) {
    HostConfig b;
    b.userns_mode = bad;
    EXPECT_THROW(check_userns(b), Error) << bad;
  }
  HostConfig priv;
  priv.userns_mode = "auto";
  priv.privileged = true;
  EXPECT_THROW(check_userns(priv), Error);
  HostConfig ok;
  ok.userns_mode = "auto:size=1024";
  EXPECT_NO_THROW(check_userns(ok));
  EXPECT_TRUE(wants_userns_range(ok));
}

TEST(UserNamespace, RangesAreUniqueReleasedAndReclaimed) {
  berth::testing::TempDir dir;
  Database db(dir.path() + "/berth.db");
  db.exec("CREATE TABLE containers (id TEXT PRIMARY KEY)");
  db.exec("INSERT INTO containers VALUES ('a'), ('b'), ('c')");
  UsernsRanges r(db);
  uint32_t a = r.allocate("a"), b = r.allocate("b");
  EXPECT_EQ(a, UsernsRanges::kPoolStart);
  EXPECT_EQ(b, UsernsRanges::kPoolStart + UsernsRanges::kRangeSize);
  r.release("a");
  EXPECT_EQ(r.allocate("c"), a);  // the first free range again
  // A range whose container has no record (a create killed half-way) is
  // taken back by the next allocation.
  db.exec("DELETE FROM containers WHERE id = 'b'");
  db.exec("INSERT INTO containers VALUES ('d')");
  EXPECT_EQ(r.allocate("d"), b);
  HostConfig h;
  h.userns_mode = "auto:size=1000";
  db.exec("INSERT INTO containers VALUES ('e')");
  assign_userns_range(h, r, "e");
  EXPECT_EQ(id_maps_to_strings(h.uid_maps),
            std::vector<std::string>{"0:" + std::to_string(UsernsRanges::kPoolStart + 2 * UsernsRanges::kRangeSize) + ":1000"});
  EXPECT_EQ(id_maps_to_strings(h.gid_maps), id_maps_to_strings(h.uid_maps));
}

}  // namespace
}  // namespace berth::engine
