// Network records and IPAM leases (engine/networks.hpp) on a real SQLite
// database: subnets picked and refused, addresses handed out once, released,
// and leases of vanished containers reconciled away.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/sqlite.hpp"
#include "engine/container_store.hpp"
#include "engine/networks.hpp"
#include "engine/vm_network.hpp"
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
  Network a = nets.create({"a", "", "", false, false, {}, "", ""});
  EXPECT_EQ(a.subnet, "10.89.0.0/24");
  EXPECT_EQ(a.bridge, "br-" + a.id.substr(0, 12));
  Network b = nets.create({"b", "", "", false, false, {}, "", ""});
  EXPECT_EQ(b.subnet, "10.89.1.0/24");
  EXPECT_THROW(nets.create({"c", "10.89.1.128/25", "", false, false, {}, "", ""}), Error);
  EXPECT_THROW(nets.create({"c", "10.88.7.0/24", "", false, false, {}, "", ""}), Error);  // inside bridge's
  EXPECT_THROW(nets.create({"a", "10.90.0.0/24", "", false, false, {}, "", ""}), Error);   // name taken
  EXPECT_THROW(nets.create({"bridge", "10.90.0.0/24", "", false, false, {}, "", ""}), Error);
  EXPECT_THROW(nets.create({"c", "10.90.0.0/24", "10.91.0.1", false, false, {}, "", ""}), Error);  // gateway outside
  EXPECT_EQ(nets.create({"c", "10.90.0.0/24", "10.90.0.254", false, false, {}, "", ""}).gateway, "10.90.0.254");
}

TEST_F(NetworksTest, LeasesAreUniqueReleasedAndReconciled) {
  Network n = nets.create({"n", "10.90.0.0/29", "", false, false, {}, "", ""});  // hosts .1 (gateway) .. .6
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

TEST_F(NetworksTest, DualStackNetworksLeaseBothFamilies) {
  NetworkCreateRequest r{"d6", "", "", false, true, {}, "", ""};
  r.subnet6 = "fd00:9::/120";  // 255 host addresses: small enough to fill
  Network n = nets.create(r);
  EXPECT_TRUE(n.ipv6);
  EXPECT_EQ(n.subnet6, "fd00:9::/120");
  EXPECT_EQ(n.gateway6, "fd00:9::1");
  EXPECT_EQ(nets.get("d6").subnet6, "fd00:9::/120");  // stored
  // docker's one --subnet flag: an IPv6 subnet in `subnet` is sorted out.
  Network g = nets.create({"g6", "fd00:a::/64", "", false, true, {}, "", ""});
  EXPECT_EQ(g.subnet6, "fd00:a::/64");
  EXPECT_EQ(g.subnet, "10.89.1.0/24");
  // Picked: a unique local /64.
  Network u = nets.create({"u6", "", "", false, true, {}, "", ""});
  EXPECT_EQ(u.subnet6.substr(0, 2), "fd");
  EXPECT_EQ(u.subnet6.substr(u.subnet6.size() - 3), "/64");
  EXPECT_THROW(nets.create({"x", "fd00:b::/64", "", false, false, {}, "", ""}), Error);  // no --ipv6
  NetworkCreateRequest small{"x", "", "", false, true, {}, "", ""};
  small.subnet6 = "fd00:b::/124";
  EXPECT_THROW(nets.create(small), Error);  // too small
  NetworkCreateRequest over{"x", "", "", false, true, {}, "", ""};
  over.subnet6 = "fd00:9::/64";
  EXPECT_THROW(nets.create(over), Error);  // overlaps d6
  EXPECT_FALSE(nets.find("x"));            // nothing made by the refusals

  EXPECT_EQ(nets.lease6(n, "c1", ""), "fd00:9::2");
  EXPECT_EQ(nets.lease(n, "c1", ""), "10.89.0.2");  // the families do not collide
  EXPECT_EQ(nets.lease6(n, "c2", "fd00:9::ff"), "fd00:9::ff");
  EXPECT_THROW(nets.lease6(n, "c3", "fd00:9::ff"), Error);   // taken
  EXPECT_THROW(nets.lease6(n, "c3", "fd00:9::1"), Error);    // the gateway
  EXPECT_THROW(nets.lease6(n, "c3", "fd00:a::2"), Error);    // outside
  EXPECT_EQ(nets.lease6(n, "c3", ""), "fd00:9::3");
  Network v4 = nets.get("bridge");
  EXPECT_EQ(nets.lease6(v4, "c4", ""), "");  // an IPv4 network: no IPv6 lease
  EXPECT_THROW(nets.lease6(v4, "c4", "fd00:9::5"), Error);
  nets.release("c1");
  EXPECT_EQ(nets.lease6(n, "c5", ""), "fd00:9::2");
  EXPECT_EQ(nets.leases(n.id).size(), 3u);
}

// A VM's lease (owner vm:NAME) lives while the VM's record does.
TEST_F(NetworksTest, ReconcileKeepsLeasesOfVmsThatHaveARecord) {
  Network n = nets.create({"vmnet", "10.91.0.0/24", "", false, false, {}, "", ""});
  nets.lease(n, "vm:kept", "");
  nets.lease(n, "vm:gone", "");
  nets.reconcile();  // no table vms yet: no VM has a record
  EXPECT_TRUE(nets.leases(n.id).empty());
  db.exec("CREATE TABLE vms (name TEXT PRIMARY KEY, config TEXT NOT NULL, state TEXT NOT NULL)");
  db.exec("INSERT INTO vms VALUES ('kept', '{}', 'running')");
  EXPECT_EQ(nets.lease(n, "vm:kept", ""), "10.91.0.2");
  nets.lease(n, "vm:gone", "");
  nets.reconcile();
  auto left = nets.leases(n.id);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].container_id, "vm:kept");
}

TEST_F(NetworksTest, DefaultNetworkIsDualStackWithBridgeSubnet6) {
  ::setenv("BERTH_BRIDGE_SUBNET6", "fd00:88::/64", 1);
  Network d = nets.get("bridge");
  ::unsetenv("BERTH_BRIDGE_SUBNET6");
  EXPECT_TRUE(d.ipv6);
  EXPECT_EQ(d.subnet6, "fd00:88::/64");
  EXPECT_EQ(d.gateway6, "fd00:88::1");
  EXPECT_EQ(nets.get("bridge").subnet6, "fd00:88::/64");  // recorded: read once
}

TEST(VmNetworkArgs, KernelIpOptionAndTapName) {
  VmNetwork n;
  n.address = "10.77.5.2";
  n.gateway = "10.77.5.1";
  n.prefix = 24;
  n.dns = "10.77.5.1";
  EXPECT_EQ(VmNetworks::kernel_ip_arg(n, "v1"), "ip=10.77.5.2::10.77.5.1:255.255.255.0:v1:eth0:off:10.77.5.1");
  n.gateway = n.dns = "";  // --internal, default bridge: no way out, no responder
  n.prefix = 16;
  EXPECT_EQ(VmNetworks::kernel_ip_arg(n, "v1"), "ip=10.77.5.2:::255.255.0.0:v1:eth0:off");
  berth::testing::TempDir dir;
  Database db{dir.path() + "/berth.db"};
  VmNetworks a(db, "/r1", "/s"), b(db, "/r2", "/s");
  std::string t = a.tap_name("a-very-long-vm-name-indeed");
  EXPECT_EQ(t.size(), 12u);
  EXPECT_EQ(t.rfind("vt", 0), 0u);
  EXPECT_EQ(t, a.tap_name("a-very-long-vm-name-indeed"));  // recomputable
  EXPECT_NE(t, b.tap_name("a-very-long-vm-name-indeed"));  // per root
  EXPECT_NE(t, a.tap_name("another"));
}
