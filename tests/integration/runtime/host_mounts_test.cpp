// A config without a mount namespace (runtime/host_rootfs.hpp): the
// container shares the host's mount table, its root is the bundle's rootfs,
// and nothing it mounted is left in the host's namespace after delete (or
// after a failed create).
#include <sys/mount.h>

#include <filesystem>

#include "reference_runtime.hpp"

using namespace berth::testing;
using nlohmann::json;

namespace {

void drop_mount_namespace(Bundle& b) {
  auto& ns = b.config["linux"]["namespaces"];
  for (size_t i = 0; i < ns.size(); ++i)
    if (ns[i]["type"] == "mount") ns.erase(i);
}

class HostMounts : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(HostMounts, ShareTheHostsMountTableWithTheRootfsAsRoot) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  BERTH_USE_RUNTIME(rt, GetParam());
  Bundle b;
  drop_mount_namespace(b);
  // runc refuses these without a mount namespace; berth-runtime applies
  // them (HostMounts.ConfigMountsAndPathsApply).
  b.config["linux"].erase("maskedPaths");
  b.config["linux"].erase("readonlyPaths");
  b.config["root"]["readonly"] = false;
  std::filesystem::create_directories(b.rootfs() + "/mnt/host");
  {
    std::ofstream(b.rootfs() + "/marker") << "the bundle's rootfs\n";
  }
  // Waits for what the host mounts under its root after start.
  b.set_args({"sh", "-c", "while [ ! -e /mnt/host/f ]; do sleep 0.05; done; cat /mnt/host/f > /seen; exec sleep 600"});
  b.write();
  const auto before = mounts_under(b.path());
  std::string id = Runtime::unique_id("hostmnt");
  auto r = run_detached(rt, {"create", "--bundle", b.path(), id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  int pid = state_of(rt, id)["pid"];

  EXPECT_EQ(proc_link(pid, "ns/mnt"), proc_link(0, "ns/mnt"));
  EXPECT_EQ(proc_link(pid, "root"), b.rootfs());
  // A mount the host makes under the container's root after it started
  // reaches the container: the same mount table, not a copy of it.
  TempDir shared;
  {
    std::ofstream(shared.path() + "/f") << "mounted by the host\n";
  }
  ASSERT_EQ(::mount(shared.path().c_str(), (b.rootfs() + "/mnt/host").c_str(), nullptr, MS_BIND, nullptr), 0);
  EXPECT_TRUE(eventually([&] { return slurp(b.rootfs() + "/seen") == "mounted by the host\n"; }));

  if (!is_runc(rt)) {
    // exec takes the init's root (runc 1.1's exec runs in the host's root).
    r = rt({"exec", id, "cat", "/marker", "/mnt/host/f"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "the bundle's rootfs\nmounted by the host\n");
  }

  r = rt({"delete", "--force", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (is_runc(rt)) {
    // runc leaves every mount of the config in the host's namespace; the
    // bundle's TempDir unmounts them.
    EXPECT_GT(mounts_under(b.path()).size(), before.size());
  } else {
    EXPECT_EQ(mounts_under(b.path()), before);
    EXPECT_NO_LEFTOVERS(rt, b, id);
  }
}

INSTANTIATE_TEST_SUITE_P(Runtimes, HostMounts, ::testing::ValuesIn(kRuntimesUnderTest));

// The default config's mounts, devices, maskedPaths, readonlyPaths and a
// read-only root, all under the rootfs and gone with `run`'s delete.
TEST(HostMounts, ConfigMountsAndPathsApply) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  drop_mount_namespace(b);
  b.set_args({"sh", "-c",
              "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; grep -c ' /proc/sys ro,' /proc/self/mountinfo; touch /x || echo ro-root; "
              "ls -l /dev/null | cut -c1; readlink /proc/1/ns/mnt"});
  b.write();
  const auto before = mounts_under(b.path());
  auto r = rt({"run", "--bundle", b.path(), Runtime::unique_id("hostmnt")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n0\n1\nro-root\nc\n" + proc_link(0, "ns/mnt") + "\n") << r.err;
  EXPECT_EQ(mounts_under(b.path()), before);
}

// A create that fails once the container's mounts exist, in the init
// (a bind source that is missing) and in the runtime (a failing prestart
// hook, which kills the init), takes them all away.
TEST(HostMounts, FailedCreateLeavesNoMount) {
  BERTH_REQUIRE_BUSYBOX();
  for (const char* how : {"bad mount", "failing hook"}) {
    Runtime rt;
    Bundle b;
    drop_mount_namespace(b);
    if (std::string(how) == "bad mount")
      b.config["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", "/nonexistent-berth-src"},
                                    {"options", {"rbind"}}});
    else
      b.config["hooks"]["prestart"] = json::array({{{"path", "/bin/false"}}});
    b.write();
    const auto before = mounts_under(b.path());
    std::string id = Runtime::unique_id("hostmnt");
    auto r = run_detached(rt, {"create", "--bundle", b.path(), id});
    EXPECT_NE(r.exit_code, 0) << how;
    EXPECT_EQ(mounts_under(b.path()), before) << how;
    EXPECT_NO_LEFTOVERS(rt, b, id);
  }
}

// Only the mount made at create goes at delete: one mounted over the
// rootfs since is left alone (and reported).
TEST(HostMounts, DeleteLeavesAMountItDidNotMake) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  drop_mount_namespace(b);
  b.set_args({"sleep", "600"});
  b.write();
  std::string id = Runtime::unique_id("hostmnt");
  ASSERT_EQ(run_detached(rt, {"create", "--bundle", b.path(), id}).exit_code, 0);
  TempDir other;
  ASSERT_EQ(::mount(other.path().c_str(), b.rootfs().c_str(), nullptr, MS_BIND, nullptr), 0);
  auto r = rt({"delete", "--force", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("no longer the one on top"), std::string::npos) << r.err;
  // Still there: the test's bind on top (and the container's under it,
  // which the bundle's TempDir unmounts).
  auto left = mounts_under(b.rootfs());
  ASSERT_FALSE(left.empty());
  EXPECT_NE(left.back().find(other.path()), std::string::npos) << left.back();
  EXPECT_FALSE(path_exists(rt.root() + "/" + id));
  ASSERT_EQ(::umount2(b.rootfs().c_str(), MNT_DETACH), 0);
}

TEST(HostMounts, UserNamespaceWithoutMountNamespaceIsRefused) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  drop_mount_namespace(b);
  b.config["linux"]["namespaces"].push_back({{"type", "user"}});
  b.config["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  b.config["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  b.write();
  const auto before = mounts_under(b.path());
  std::string id = Runtime::unique_id("hostmnt");
  auto r = rt({"run", "--bundle", b.path(), id});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("a user namespace needs a mount namespace too"), std::string::npos) << r.err;
  EXPECT_EQ(mounts_under(b.path()), before);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}
