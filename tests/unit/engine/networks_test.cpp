// Network records and IPAM leases (engine/networks.hpp) on a real SQLite
// database: subnets picked and refused, addresses handed out once, released,
// and leases of vanished containers reconciled away.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/sqlite.hpp"
#include "engine/container_store.hpp"
#include "engine/networks.hpp"
#include "test_support.hpp"

using namespace berth;
using namespace berth::engine;

namespace {

struct NetworksTest : ::testing::Test {
  berth::testing::TempDir dir;
  Database db{dir.path() + "/berth.db"};
  ContainerStore containers{db};  // reconcile() looks up its table
  Networks nets{db};
};

}  // namespace

TEST_F(NetworksTest, DefaultNetworkIsMadeOnFirstUse) {
  auto all = nets.list();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "bridge");
  EXPECT_EQ(all[0].subnet, "10.88.0.0/16");
  EXPECT_EQ(all[0].gateway, "10.88.0.1");
  EXPECT_EQ(all[0].bridge, "berth0");
  EXPECT_EQ(nets.get("bridge").id, all[0].id);  // not made twice
}

TEST_F(NetworksTest, SubnetsArePickedAndOverlapsRefused) {
  Network a = nets.create({"a", "", "", false, false, {}});
  EXPECT_EQ(a.subnet, "10.89.0.0/24");
  EXPECT_EQ(a.bridge, "br-" + a.id.substr(0, 12));
  Network b = nets.create({"b", "", "", false, false, {}});
  EXPECT_EQ(b.subnet, "10.89.1.0/24");
  EXPECT_THROW(nets.create({"c", "10.89.1.128/25", "", false, false, {}}), Error);
  EXPECT_THROW(nets.create({"c", "10.88.7.0/24", "", false, false, {}}), Error);  // inside bridge's
  EXPECT_THROW(nets.create({"a", "10.90.0.0/24", "", false, false, {}}), Error);   // name taken
  EXPECT_THROW(nets.create({"bridge", "10.90.0.0/24", "", false, false, {}}), Error);
  EXPECT_THROW(nets.create({"c", "10.90.0.0/24", "10.91.0.1", false, false, {}}), Error);  // gateway outside
  EXPECT_EQ(nets.create({"c", "10.90.0.0/24", "10.90.0.254", false, false, {}}).gateway, "10.90.0.254");
}

TEST_F(NetworksTest, LeasesAreUniqueReleasedAndReconciled) {
  Network n = nets.create({"n", "10.90.0.0/29", "", false, false, {}});  // hosts .1 (gateway) .. .6
  EXPECT_EQ(nets.lease(n, "c1", ""), "10.90.0.2");
  EXPECT_EQ(nets.lease(n, "c2", ""), "10.90.0.3");
  EXPECT_EQ(nets.lease(n, "c3", "10.90.0.6"), "10.90.0.6");
  EXPECT_THROW(nets.lease(n, "c4", "10.90.0.6"), Error);  // taken
  EXPECT_THROW(nets.lease(n, "c4", "10.90.0.1"), Error);  // the gateway
  EXPECT_THROW(nets.lease(n, "c4", "10.90.0.7"), Error);  // broadcast
  EXPECT_THROW(nets.lease(n, "c4", "10.91.0.2"), Error);  // outside
  EXPECT_EQ(nets.lease(n, "c4", ""), "10.90.0.4");
  EXPECT_EQ(nets.lease(n, "c5", ""), "10.90.0.5");
  EXPECT_THROW(nets.lease(n, "c6", ""), Error);  // full
  nets.release("c2");
  EXPECT_EQ(nets.lease(n, "c6", ""), "10.90.0.3");
  // None of c1..c6 has a container record: all are leftovers.
  nets.reconcile();
  EXPECT_TRUE(nets.leases().empty());
}
