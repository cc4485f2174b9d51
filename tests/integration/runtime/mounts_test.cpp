// The container's filesystem view through the real berth-runtime binary.
#include <sys/mount.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "common/fs.hpp"
#include "runtime/mounts/mounts.hpp"
#include "runtime/mounts/rootfs.hpp"
#include "runtime_harness.hpp"

using berth::testing::Bundle;
using berth::testing::RunResult;
using berth::testing::Runtime;
using berth::testing::TempDir;
using nlohmann::json;

namespace {

RunResult run_sh(Runtime& rt, Bundle& b, const std::string& script,
                 std::vector<std::string> extra = {}) {
  b.set_args({"sh", "-c", script});
  b.write();
  std::vector<std::string> args = {"run"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), {"-b", b.path(), Runtime::unique_id("mnt")});
  return rt(args);
}

// The mountinfo line for mount point `dest` inside the container.
std::string mount_line(const std::string& mountinfo, const std::string& dest) {
  std::istringstream in(mountinfo);
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, root, point;
    f >> id >> parent >> devno >> root >> point;
    if (point == dest) found = line;  // the last one is on top
  }
  return found;
}

std::string host_mountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(Mounts, MaskedPathsAreUnreadable) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  auto r = run_sh(rt, b, "wc -c < /proc/keys; wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l; "
                         "ls -A /proc/acpi 2>/dev/null | wc -l; touch /sys/firmware/x 2>&1; true");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 8), "0\n0\n0\n0\n") << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
}

TEST(Mounts, ReadonlyPathsRefuseWrites) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  auto r = run_sh(rt, b, "echo 1 > /proc/sys/kernel/shmmni; echo a=$?; echo x > /proc/sysrq-trigger; echo b=$?; "
                         "cat /proc/sys/kernel/ostype");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("a=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("b=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Linux"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
}

TEST(Mounts, ReadonlyRootfsAndSys) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  auto r = run_sh(rt, b, "touch /x; echo a=$?; touch /sys/kernel/x; echo b=$?; touch /dev/shm/ok; echo c=$?; "
                         "grep ' / ' /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("a=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("b=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("c=0"), std::string::npos) << r.out;
  b.config["root"]["readonly"] = false;
  r = run_sh(rt, b, "touch /x; echo a=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("a=0"), std::string::npos) << r.out;
}

TEST(Mounts, BindMountWithOptions) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  TempDir src;
  { std::ofstream(src / "hello") << "hi\n"; }
  b.config["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", src.path()},
                                {"options", {"rbind", "ro", "nosuid", "nodev", "noexec"}}});
  b.config["mounts"].push_back({{"destination", "/rw/data2"}, {"source", src.path()},
                                {"options", {"bind", "rw"}}});
  auto r = run_sh(rt, b, "cat /data/hello; touch /data/x; echo a=$?; touch /rw/data2/y; echo b=$?; cat /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("hi\n"), std::string::npos);
  EXPECT_NE(r.out.find("a=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("b=0"), std::string::npos) << r.out;
  std::string l = mount_line(r.out, "/data");
  EXPECT_NE(l.find(" ro,nosuid,nodev,noexec"), std::string::npos) << l;
  struct stat st {};
  EXPECT_EQ(stat((src / "y").c_str(), &st), 0) << "write through the rw bind reached the host";
}

TEST(Mounts, RecursiveReadOnlyReachesSubmounts) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  TempDir src;
  ASSERT_EQ(mkdir((src / "sub").c_str(), 0755), 0);
  ASSERT_EQ(mount("tmpfs", (src / "sub").c_str(), "tmpfs", 0, "size=1m"), 0);
  b.config["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", src.path()},
                                {"options", {"rbind", "rro"}}});
  auto r = run_sh(rt, b, "touch /data/sub/x; echo a=$?; touch /data/x; echo b=$?");
  umount2((src / "sub").c_str(), MNT_DETACH);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("a=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("b=1"), std::string::npos) << r.out;
}

TEST(Mounts, TmpfsSizeAndModeHonoured) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                                {"options", {"size=2m", "mode=1770", "nosuid"}}});
  auto r = run_sh(rt, b, "df -k /scratch | tail -1; stat -c %a /scratch; grep ' /scratch ' /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" 2048 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1770"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("size=2048k"), std::string::npos) << r.out;
}

TEST(Mounts, TmpcopyupKeepsTheImageContent) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  ASSERT_EQ(mkdir((b.rootfs() + "/opt").c_str(), 0755), 0);
  { std::ofstream(b.rootfs() + "/opt/conf") << "kept\n"; }
  ASSERT_EQ(symlink("conf", (b.rootfs() + "/opt/link").c_str()), 0);
  b.config["mounts"].push_back({{"destination", "/opt"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                                {"options", {"tmpcopyup", "ro"}}});
  auto r = run_sh(rt, b, "cat /opt/link; touch /opt/new; echo a=$?; grep ' /opt ' /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kept\n"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("a=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tmpfs"), std::string::npos) << r.out;
}

TEST(Mounts, DefaultAndConfiguredDevices) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  b.config["linux"]["devices"] = {
      {{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"fileMode", 0640}, {"uid", 7}, {"gid", 8}},
      {{"path", "/dev/sub/loop9"}, {"type", "b"}, {"major", 7}, {"minor", 9}}};
  auto r = run_sh(rt, b,
                  "for d in null zero full random urandom tty fuse sub/loop9; do stat -c '%n %F %t:%T %a %u:%g' /dev/$d; done; "
                  "for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done; echo hi > /dev/null; echo w=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("/dev/null character special file 1:3 666 0:0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/zero character special file 1:5 666"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/full character special file 1:7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/random character special file 1:8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/urandom character special file 1:9"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/tty character special file 5:0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/fuse character special file a:e5 640 7:8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/sub/loop9 block special file 7:9 666"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\n"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("w=0"), std::string::npos) << r.out;
}

TEST(Mounts, CgroupViewIsReadOnly) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  auto r = run_sh(rt, b, "ls /sys/fs/cgroup; cat /proc/self/cgroup; mkdir /sys/fs/cgroup/memory/x; echo a=$?; "
                         "grep -c cgroup /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("a=1"), std::string::npos) << r.out;
  const bool v2_only = host_mountinfo().find(" /sys/fs/cgroup cgroup2 ") != std::string::npos ||
                       mount_line(host_mountinfo(), "/sys/fs/cgroup").find(" - cgroup2 ") != std::string::npos;
  if (!v2_only) {
    EXPECT_NE(r.out.find("memory"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("pids"), std::string::npos) << r.out;
  }
}

TEST(Mounts, CgroupViewWithoutCgroupNamespace) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  auto& ns = b.config["linux"]["namespaces"];
  for (size_t i = 0; i < ns.size(); ++i)
    if (ns[i]["type"] == "cgroup") ns.erase(i);
  auto r = run_sh(rt, b, "ls /sys/fs/cgroup/pids/ | grep -c pids.max; touch /sys/fs/cgroup/pids/x; echo a=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("a=1"), std::string::npos) << r.out;
}

TEST(Mounts, BadBindSourceIsOneClearErrorAndLeavesNothing) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", "/nope/not/here"},
                                {"options", {"rbind"}}});
  auto r = run_sh(rt, b, "true");
  EXPECT_NE(r.exit_code, 0);
  std::string err = r.err;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  EXPECT_EQ(err.find('\n'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/data"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/nope/not/here"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
  EXPECT_EQ(host_mountinfo().find(b.path()), std::string::npos) << "leftover mounts";
}

TEST(Mounts, MountOverProcIsRefused) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/proc/self"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  auto r = run_sh(rt, b, "true");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/proc/self"), std::string::npos) << r.err;
}

TEST(Mounts, SymlinkDestinationStaysInsideRootfs) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  // /escape -> /../../../tmp in the image must resolve inside the rootfs.
  ASSERT_EQ(symlink("/../../../../../tmp", (b.rootfs() + "/escape").c_str()), 0);
  b.config["mounts"].push_back({{"destination", "/escape/inside"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  auto r = run_sh(rt, b, "grep -c ' /tmp/inside ' /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  struct stat st {};
  EXPECT_NE(stat("/tmp/inside", &st), 0) << "mount point created on the host";
}

TEST(Mounts, NoPivotAndPropagation) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  b.config["linux"]["rootfsPropagation"] = "rprivate";
  auto r = run_sh(rt, b, "touch /x; echo a=$?; grep ' / ' /proc/self/mountinfo", {"--no-pivot"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("a=1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("shared:"), std::string::npos) << r.out;
  b.config["linux"]["rootfsPropagation"] = "shared";
  r = run_sh(rt, b, "grep ' / ' /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("shared:"), std::string::npos) << r.out;
  b.config["linux"]["rootfsPropagation"] = "runbindable";
  r = run_sh(rt, b, "grep ' / ' /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("unbindable"), std::string::npos) << r.out;
  b.config["linux"]["rootfsPropagation"] = "rslave";
  r = run_sh(rt, b, "grep ' / ' /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("shared:"), std::string::npos) << r.out;
}

TEST(Mounts, BindPropagationOption) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  TempDir src;
  b.config["mounts"].push_back({{"destination", "/shared"}, {"type", "bind"}, {"source", src.path()},
                                {"options", {"rbind", "rshared"}}});
  b.config["mounts"].push_back({{"destination", "/private"}, {"type", "bind"}, {"source", src.path()},
                                {"options", {"rbind", "rprivate"}}});
  auto r = run_sh(rt, b, "cat /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(mount_line(r.out, "/shared").find("shared:"), std::string::npos) << r.out;
  EXPECT_EQ(mount_line(r.out, "/private").find("shared:"), std::string::npos) << r.out;
  EXPECT_EQ(mount_line(r.out, "/private").find("master:"), std::string::npos) << r.out;
}

TEST(Mounts, UserNamespaceBindsDevicesFromTheHost) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  chmod(b.path().c_str(), 0755);  // the mapped root must reach the rootfs
  b.config["linux"]["namespaces"].push_back({{"type", "user"}});
  b.config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config["linux"]["devices"] = {{{"path", "/dev/kmsg"}, {"type", "c"}, {"major", 1}, {"minor", 11}}};
  auto r = run_sh(rt, b, "cat /proc/self/uid_map; for d in null zero urandom tty kmsg; do stat -c '%n %t:%T' /dev/$d; done; "
                         "echo hi > /dev/null; echo w=$?; grep -c ' /dev/null ' /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("100000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/null 1:3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/kmsg 1:b"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("w=0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n1\n"), std::string::npos) << "/dev/null is a bind mount:\n" << r.out;
}

TEST(Mounts, UserNamespaceWithoutNetnsBindsSysfs) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  chmod(b.path().c_str(), 0755);
  auto& ns = b.config["linux"]["namespaces"];
  for (size_t i = 0; i < ns.size(); ++i)
    if (ns[i]["type"] == "network") ns.erase(i);
  ns.push_back({{"type", "user"}});
  b.config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  auto r = run_sh(rt, b, "ls /sys/kernel >/dev/null; echo l=$?; touch /sys/kernel/x; echo t=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("l=0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("t=1"), std::string::npos) << r.out;
}

TEST(Mounts, ReadonlyPathCoversSubmounts) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/data"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  b.config["mounts"].push_back({{"destination", "/data/sub"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  b.config["linux"]["readonlyPaths"].push_back("/data");
  b.config["linux"]["readonlyPaths"].push_back("/does/not/exist");
  auto r = run_sh(rt, b, "touch /data/x; echo a=$?; touch /data/sub/x; echo b=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("a=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("b=1"), std::string::npos) << r.out;
}

// Through the library (the CLI wiring is the runtime core's): an idmapped
// bind shows files with the mapped owner.
TEST(Mounts, IdmappedBindShowsMappedOwners) {
  BERTH_REQUIRE_ROOT();
  TempDir src, dst;
  { std::ofstream(src / "f") << "x"; }
  ASSERT_EQ(chown((src / "f").c_str(), 0, 0), 0);
  berth::oci::Spec spec;
  berth::oci::Mount m;
  m.destination = "/data";
  m.type = "bind";
  m.source = src.path();
  m.options = {"rbind"};
  m.uid_mappings = {{0, 1000, 1}};
  m.gid_mappings = {{0, 2000, 1}};
  spec.mounts.push_back(m);
  auto prepared = berth::runtime::prepare_mounts(spec, "/", -1);
  ASSERT_EQ(prepared.idmapped.size(), 1u);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) != 0) _exit(2);
    try {
      int target = open(dst.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      berth::runtime::attach_prepared_tree(prepared.idmapped.begin()->second.get(), target, "attach");
    } catch (const std::exception& e) {
      dprintf(p[1], "%s", e.what());
      _exit(3);
    }
    struct stat st {};
    if (stat((dst / "f").c_str(), &st) != 0) _exit(4);
    dprintf(p[1], "%u:%u", st.st_uid, st.st_gid);
    _exit(0);
  }
  close(p[1]);
  char buf[512] = {};
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << " " << (n > 0 ? buf : "");
  EXPECT_STREQ(buf, "1000:2000");
}

// Through the CLI: the runtime prepares the idmapped tree in the host user
// namespace once the container's exists and the init attaches it. `data` is
// bound on /data from a dir holding f0 (owner 0:0) and f5 (5:5), in a
// container whose user namespace maps 0 -> host 100000; a plain bind of the
// same dir on /plain shows the unmapped overflow id. Returns the owners seen.
static std::string idmapped_owners(nlohmann::json data) {
  Runtime rt;
  TempDir src;
  Bundle b;
  chmod(b.path().c_str(), 0755);
  chmod(src.path().c_str(), 0755);
  // Mount points made here: the container's root does not own the rootfs.
  for (const char* d : {"/plain", "/data"}) mkdir((b.rootfs() + d).c_str(), 0755);
  for (int id : {0, 5}) {
    std::string f = src / ("f" + std::to_string(id));
    { std::ofstream(f) << "x"; }
    EXPECT_EQ(chown(f.c_str(), id, id), 0);
  }
  b.config["linux"]["namespaces"].push_back({{"type", "user"}});
  b.config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config["mounts"].push_back({{"destination", "/plain"}, {"type", "bind"}, {"source", src.path()},
                                {"options", {"rbind"}}});
  data["destination"] = "/data";
  data["type"] = "bind";
  data["source"] = src.path();
  b.config["mounts"].push_back(data);
  auto r = run_sh(rt, b, "stat -c '%n %u:%g' /data/f0 /data/f5 /plain/f0");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// The mount's own mapping (0 -> host 100010): on-disk 0 and 5 are host
// 100010/100015, i.e. 10 and 15 in the container.
TEST(Mounts, IdmappedBindShowsTheMountsMappingInAUserNamespace) {
  BERTH_REQUIRE_BUSYBOX();
  std::string out = idmapped_owners({{"options", {"rbind"}},
                                     {"uidMappings", {{{"containerID", 0}, {"hostID", 100010}, {"size", 100}}}},
                                     {"gidMappings", {{{"containerID", 0}, {"hostID", 100010}, {"size", 100}}}}});
  EXPECT_NE(out.find("/data/f0 10:10"), std::string::npos) << out;
  EXPECT_NE(out.find("/data/f5 15:15"), std::string::npos) << out;
  EXPECT_NE(out.find("/plain/f0 65534:65534"), std::string::npos) << out;
}

// "idmap" without mappings: the container's own user namespace maps the
// mount, so host root's files are root's inside.
TEST(Mounts, IdmapOptionUsesTheContainersUserNamespace) {
  BERTH_REQUIRE_BUSYBOX();
  std::string out = idmapped_owners({{"options", {"rbind", "idmap"}}});
  EXPECT_NE(out.find("/data/f0 0:0"), std::string::npos) << out;
  EXPECT_NE(out.find("/data/f5 5:5"), std::string::npos) << out;
  EXPECT_NE(out.find("/plain/f0 65534:65534"), std::string::npos) << out;
}

TEST(Mounts, IdmapWithNeitherMappingsNorUserNamespaceIsAClearError) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  TempDir src;
  b.config["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", src.path()},
                                {"options", {"rbind", "idmap"}}});
  auto r = run_sh(rt, b, "true");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("mounts[7] (/data)"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("user namespace"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Mounts, ReadOnlyDevStillGetsDevicesAndNoexecIsHonoured) {
  BERTH_REQUIRE_BUSYBOX();
  Runtime rt;
  Bundle b;
  for (auto& m : b.config["mounts"])
    if (m["destination"] == "/dev") m["options"].push_back("ro");
  auto r = run_sh(rt, b, "stat -c '%t:%T' /dev/null; touch /dev/x; echo a=$?; "
                         "cp /bin/busybox /dev/shm/bb; /dev/shm/bb true; echo b=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1:3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("a=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("b=126"), std::string::npos) << r.out << r.err;
}

// FINDINGS F5: with cgroup_dirs the view binds the container's cgroups even
// though this process has not joined them.
TEST(Mounts, CgroupViewUsesGivenDirectories) {
  BERTH_REQUIRE_ROOT();
  if (access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) != 0) GTEST_SKIP() << "no v1 pids hierarchy";
  const std::string cg = "/sys/fs/cgroup/pids/berth-sec-view-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(cg.c_str(), 0755), 0);
  ASSERT_EQ(berth::fs::exists(cg + "/pids.max"), true);
  TempDir root;
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) != 0) _exit(2);
    try {
      mkdir((root / "cg").c_str(), 0755);
      berth::UniqueFd rfd(open(root.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      auto o = berth::runtime::parse_mount_options({"ro", "nosuid"});
      berth::runtime::mount_cgroups(rfd.get(), "/cg", root / "cg", o, false, {{"pids", cg}}, "test");
      struct stat a {}, b {};
      if (stat((root / "cg/pids").c_str(), &a) != 0 || stat(cg.c_str(), &b) != 0) _exit(3);
      if (a.st_ino != b.st_ino) _exit(4);
      if (access((root / "cg/pids/pids.max").c_str(), F_OK) != 0) _exit(5);
      if (mkdir((root / "cg/pids/x").c_str(), 0755) == 0 || errno != EROFS) _exit(6);
    } catch (...) {
      _exit(7);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  rmdir(cg.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}
