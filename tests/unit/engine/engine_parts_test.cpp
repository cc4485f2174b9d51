// The engine's pure parts: Docker's Entrypoint/Cmd merge, capabilities,
// the OCI config it writes, user lookup inside a rootfs, durations and
// signals, the record's JSON round trip and docker's status texts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"
#include "engine/oci_config.hpp"
#include "engine/user_lookup.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/capabilities.hpp"
#include "test_support.hpp"

using namespace berth;
using namespace berth::engine;
using nlohmann::json;

TEST(ProcessArgs, MergesAsDockerDoes) {
  json img = {{"Entrypoint", {"/entry"}}, {"Cmd", {"default", "args"}}};
  ContainerConfig c;
  EXPECT_EQ(process_args(c, img), (std::vector<std::string>{"/entry", "default", "args"}));
  c.cmd = std::vector<std::string>{"mine"};
  EXPECT_EQ(process_args(c, img), (std::vector<std::string>{"/entry", "mine"}));
  ContainerConfig e;
  e.entrypoint = std::vector<std::string>{"/other"};  // a new entrypoint drops the image's Cmd
  EXPECT_EQ(process_args(e, img), (std::vector<std::string>{"/other"}));
  ContainerConfig none;
  none.entrypoint = std::vector<std::string>{""};
  none.cmd = std::vector<std::string>{"sh"};
  EXPECT_EQ(process_args(none, img), (std::vector<std::string>{"sh"}));
  ContainerConfig empty;
  EXPECT_THROW(process_args(empty, json::object()), Error);
}

TEST(Capabilities, DefaultsAddDropAndAll) {
  HostConfig h;
  EXPECT_EQ(effective_caps(h).size(), 14u);
  h.cap_drop = {"net_raw", "CAP_CHOWN"};
  h.cap_add = {"SYS_ADMIN"};
  auto caps = effective_caps(h);
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_NET_RAW"), 0);
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_CHOWN"), 0);
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_SYS_ADMIN"), 1);
  HostConfig all;
  all.cap_drop = {"ALL"};
  EXPECT_TRUE(effective_caps(all).empty());
  HostConfig bad;
  bad.cap_add = {"CAP_FLY"};
  EXPECT_THROW(effective_caps(bad), Error);
}

class OciConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::mkdir_p(root_ / "rootfs/etc");
    fs::write_file(root_ / "rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\n");
    fs::write_file(root_ / "rootfs/etc/group", "root:x:0:\nwww:x:33:\nstaff:x:50:www,bob\n");
    c_.id = std::string(64, 'a');
    c_.path = "/bin/sh";
    c_.args = {"-c", "true"};
    in_.rootfs = root_ / "rootfs";
    in_.etc_dir = root_ / "etc";
    in_.cgroups_path = "/berth/x";
  }
  oci::Spec build(const json& img = json::object()) { return oci::parse_spec(build_oci_config(c_, img, in_)); }
  berth::testing::TempDir root_;
  Container c_;
  OciInputs in_;
};

TEST_F(OciConfigTest, SecureDefaults) {
  oci::Spec s = build();
  ASSERT_TRUE(s.process && s.linux);
  EXPECT_TRUE(s.process->no_new_privileges);
  EXPECT_TRUE(s.linux->seccomp.has_value());
  EXPECT_EQ(s.process->capabilities->bounding.size(), 14u);
  bool sys_ro = false;
  for (auto& m : s.mounts)
    if (m.destination == "/sys") sys_ro = std::count(m.options.begin(), m.options.end(), "ro") > 0;
  EXPECT_TRUE(sys_ro);
  EXPECT_FALSE(s.linux->masked_paths.empty());
  EXPECT_EQ(s.hostname, std::string(12, 'a'));
  EXPECT_EQ(s.process->args, (std::vector<std::string>{"/bin/sh", "-c", "true"}));
}

TEST_F(OciConfigTest, PrivilegedAndOptsLiftThem) {
  c_.host.privileged = true;
  oci::Spec s = build();
  EXPECT_FALSE(s.process->no_new_privileges);
  EXPECT_FALSE(s.linux->seccomp.has_value());
  EXPECT_TRUE(s.linux->masked_paths.empty());
  c_.host.privileged = false;
  c_.host.security_opt = {"seccomp=unconfined", "no-new-privileges=false"};
  s = build();
  EXPECT_FALSE(s.linux->seccomp.has_value());
  EXPECT_FALSE(s.process->no_new_privileges);
}

TEST_F(OciConfigTest, ResourcesEnvUserAndMounts) {
  c_.host.memory = 64 << 20;
  c_.host.nano_cpus = 1500000000;
  c_.host.pids_limit = 50;
  c_.host.ulimits = {{"nofile", 100, 200}};
  c_.config.env = {"A=1", "PATH=/mine"};
  c_.config.user = "www";
  c_.mounts = {{"bind", "", "/host", "/in", "ro", false, false, false}, {"tmpfs", "", "", "/t", "size=1m", true, false, false}};
  json img = {{"Env", {"PATH=/img", "B=2"}}, {"WorkingDir", "/w"}};
  oci::Spec s = build(img);
  EXPECT_EQ(*s.linux->resources->memory->limit, 64 << 20);
  EXPECT_EQ(*s.linux->resources->memory->swap, 2 * (64 << 20));
  EXPECT_EQ(*s.linux->resources->cpu->quota, 150000);
  EXPECT_EQ(s.linux->resources->pids->limit, 50);
  EXPECT_EQ(s.process->rlimits.at(0).type, "RLIMIT_NOFILE");
  EXPECT_EQ(s.process->cwd, "/w");
  EXPECT_EQ(s.process->user.uid, 33u);
  EXPECT_EQ(s.process->user.additional_gids, (std::vector<uint32_t>{50}));
  auto has_env = [&](const std::string& e) {
    return std::count(s.process->env.begin(), s.process->env.end(), e) > 0;
  };
  EXPECT_TRUE(has_env("PATH=/mine"));
  EXPECT_TRUE(has_env("B=2"));
  EXPECT_TRUE(has_env("A=1"));
  EXPECT_TRUE(has_env("HOME=/var/www"));
  EXPECT_TRUE(s.process->capabilities->effective.empty());  // a non-root user keeps only the bounding set
  bool bind_ro = false, tmpfs = false;
  for (auto& m : s.mounts) {
    if (m.destination == "/in") bind_ro = std::count(m.options.begin(), m.options.end(), "ro") > 0;
    if (m.destination == "/t") tmpfs = m.type == "tmpfs";
  }
  EXPECT_TRUE(bind_ro);
  EXPECT_TRUE(tmpfs);
  c_.config.user = "nobody-here";
  EXPECT_THROW(build(img), Error);
}

TEST(UserLookup, StaysInsideTheRootfs) {
  berth::testing::TempDir d, host;
  fs::mkdir_p(d / "etc");
  // /etc/passwd is a symlink to an absolute host path: it resolves inside
  // the root, where that path does not exist, never to the host's file.
  fs::write_file(host / "passwd", "evil:x:7:7::/:/bin/sh\n");
  ASSERT_EQ(::symlink((host / "passwd").c_str(), (d / "etc/passwd").c_str()), 0);
  EXPECT_EQ(read_in_root(d.path(), "/etc/passwd"), "");
  EXPECT_THROW(resolve_user(d.path(), "evil"), Error);
  EXPECT_EQ(resolve_user(d.path(), "1000:1000").uid, 1000u);
}

TEST(Units, DurationsAndSignals) {
  EXPECT_EQ(parse_duration_ns("1m30s", "--x"), 90'000'000'000LL);
  EXPECT_EQ(parse_duration_ns("250ms", "--x"), 250'000'000LL);
  EXPECT_THROW(parse_duration_ns("ten", "--x"), Error);
  // Past int64 nanoseconds the cast was undefined behaviour; strtod took
  // "nan", "inf" and signs, which Go's ParseDuration does not.
  for (const char* bad : {"1e300h", "3000000h", "nan", "infs", "-1s", "+1s", " 1s", "1s-1s", ""})
    EXPECT_THROW(parse_duration_ns(bad, "--x"), Error) << bad;
  EXPECT_EQ(parse_duration_ns(".5s", "--x"), 500'000'000LL);
  EXPECT_EQ(parse_duration_ns("2000000h", "--x"), 7'200'000'000'000'000'000LL);
  EXPECT_EQ(parse_time_bound("1700000000.000000000", "since"), 1700000000);
  EXPECT_EQ(parse_time_bound("2023-11-14T22:13:20Z", "since"), 1700000000);
  EXPECT_THROW(parse_time_bound("1e300", "since"), Error);
  EXPECT_EQ(parse_signal("KILL"), SIGKILL);
  EXPECT_EQ(parse_signal("sigterm"), SIGTERM);
  EXPECT_EQ(parse_signal("9"), 9);
  EXPECT_THROW(parse_signal("SIGNOPE"), Error);
}

TEST(Units, LogOptsAsDockersJsonFileDriver) {
  auto limits = parse_log_opts({});
  EXPECT_EQ(limits.max_size, 10 * 1000 * 1000);  // ours: rotated by default
  EXPECT_EQ(limits.max_files, 3);
  limits = parse_log_opts({{"max-size", "1.5k"}, {"max-file", "20"}});
  EXPECT_EQ(limits.max_size, 1500);  // decimal, as units.FromHumanSize
  EXPECT_EQ(limits.max_files, 20);
  EXPECT_EQ(parse_log_opts({{"max-size", "10m"}}).max_size, 10 * 1000 * 1000);
  EXPECT_EQ(parse_log_opts({{"max-size", "2 GiB"}}).max_size, 2000LL * 1000 * 1000);
  EXPECT_EQ(parse_log_opts({{"max-size", "123"}}).max_size, 123);
  auto refused = [](const std::string& k, const std::string& v) {
    try {
      parse_log_opts({{k, v}});
    } catch (const berth::Error& e) {
      EXPECT_EQ(e.kind(), berth::ErrorKind::InvalidArgument) << k << "=" << v;
      return e.message();
    }
    ADD_FAILURE() << k << "=" << v << " was taken";
    return std::string();
  };
  // 1e300 bytes was a float-to-int cast out of range (UB) at start.
  for (const char* v : {"", "0", "-1", "1e300", "99999999999999999999g", "10x", "m", "1.", "nan", "inf", "1 1"})
    EXPECT_NE(refused("max-size", v).find("invalid max-size"), std::string::npos) << v;
  // max-file 2e9 made each rotation two billion renames.
  for (const char* v : {"", "0", "21", "2000000000", "-1", "x", "1.5"})
    EXPECT_NE(refused("max-file", v).find("invalid max-file"), std::string::npos) << v;
  EXPECT_EQ(refused("mode", "non-blocking"), "unknown log opt 'mode' for json-file log driver");
}

TEST(ContainerRecord, JsonRoundTripAndDockerViews) {
  Container c;
  c.id = std::string(64, 'b');
  c.name = "web";
  c.created = "2026-12-06T10:00:00.0Z";
  c.path = "sleep";
  c.args = {"100"};
  c.config.image = "busybox";
  c.config.labels = {{"a", "b"}};
  c.host.restart_policy = {"on-failure", 3};
  c.host.mounts = {{"volume", "data", "/data", true, ""}};
  c.state.status = "running";
  c.state.started_at = "2026-12-06T10:00:01.0Z";
  json j = c;
  EXPECT_EQ(j["Name"], "/web");
  EXPECT_EQ(j["HostConfig"]["LogConfig"]["Type"], "json-file");
  EXPECT_TRUE(j["State"]["Running"].get<bool>());
  Container back = j.get<Container>();
  EXPECT_EQ(back.name, "web");
  EXPECT_EQ(back.host.restart_policy.maximum_retry_count, 3);
  EXPECT_EQ(back.host.mounts.at(0).read_only, true);
  int64_t t0 = 1796551201;  // 2026-12-06T10:00:01Z
  EXPECT_EQ(status_text(c.state, t0 + 5), "Up 5 seconds");
  c.state.status = "exited";
  c.state.exit_code = 3;
  c.state.finished_at = "2026-12-06T10:00:01.0Z";
  EXPECT_EQ(status_text(c.state, t0 + 3600), "Exited (3) About an hour ago");
  EXPECT_EQ(human_duration(0), "Less than a second");
  EXPECT_EQ(human_duration(90), "About a minute");
  EXPECT_EQ(command_text(c, false), "\"sleep 100\"");
  c.args = {"a-very-long-argument-list"};
  EXPECT_EQ(command_text(c, false), "\"sleep a-very-long-a…\"");  // docker: 19 characters and the ellipsis
}

TEST(UserLookup, DefaultUserAndUnknownUidAsDocker) {
  berth::testing::TempDir d;
  fs::mkdir_p(d / "etc");
  fs::write_file(d / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34::/var/www:/bin/sh\n");
  fs::write_file(d / "etc/group", "root:x:0:\n");
  EXPECT_EQ(resolve_user(d.path(), "").home, "/root");  // no --user is uid 0, looked up
  ResolvedUser unknown = resolve_user(d.path(), "1000");
  EXPECT_EQ(unknown.uid, 1000u);
  EXPECT_EQ(unknown.gid, 0u);  // docker: gid 0 for a uid passwd lacks
  EXPECT_EQ(resolve_user(d.path(), "www").gid, 34u);
}

TEST(UserLookup, IdsOutOfRangeAreRefusedNotWrapped) {
  berth::testing::TempDir d;
  fs::mkdir_p(d / "etc");
  // uid 4294967296 cast to uint32_t was 0: root. runc refuses ids past 2^31 - 1.
  fs::write_file(d / "etc/passwd",
                 "root:x:0:0:root:/root:/bin/sh\nwrap:x:4294967296:0::/:/bin/sh\nabc:x:abc:0::/:/bin/sh\n"
                 "app:x:1000:1000::/home/app:/bin/sh\n");
  fs::write_file(d / "etc/group", "root:x:0:\nbig:x:99999999999:app\nstaff:x:50:app,app\nw:x:51:app\n");
  for (const char* bad : {"4294967296", "2147483648", "99999999999999999999", "0:4294967296", "wrap", "abc"})
    EXPECT_THROW(resolve_user(d.path(), bad), Error) << bad;
  EXPECT_EQ(resolve_user(d.path(), "2147483647").uid, 2147483647u);
  try {
    resolve_user(d.path(), "app");  // member of "big", whose gid is out of range
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/etc/group in the container: group big has gid '99999999999'"),
              std::string::npos)
        << e.what();
  }
  fs::write_file(d / "etc/group", "staff:x:50:app,app\nw:x:51:app\nagain:x:50:app\n");
  EXPECT_EQ(resolve_user(d.path(), "app").additional_gids, (std::vector<uint32_t>{50, 51}));  // once each
  EXPECT_EQ(resolve_user(d.path(), "01000").home, "/home/app");  // a number is a uid, as runc's
  std::string many;
  for (int g = 0; g <= 65536; ++g) many += "g" + std::to_string(g) + ":x:" + std::to_string(g + 2000) + ":app\n";
  fs::write_file(d / "etc/group", many);
  EXPECT_THROW(resolve_user(d.path(), "app"), Error);  // setgroups(2) takes at most NGROUPS_MAX
}

TEST(MergeImageConfig, FillsWhatTheUserLeftUnset) {
  json img = {{"User", "www"}, {"WorkingDir", "/w"}, {"Env", {"PATH=/img", "A=img"}},
              {"Entrypoint", {"/entry"}}, {"Cmd", {"default"}}, {"Labels", {{"k", "img"}, {"j", "img"}}}};
  ContainerConfig c;
  c.env = {"A=mine"};
  c.labels = {{"k", "mine"}};
  merge_image_config(c, img);
  EXPECT_EQ(c.user, "www");
  EXPECT_EQ(c.working_dir, "/w");
  EXPECT_EQ(c.env, (std::vector<std::string>{"A=mine", "PATH=/img"}));
  EXPECT_EQ(c.entrypoint, (std::vector<std::string>{"/entry"}));
  EXPECT_EQ(c.cmd, (std::vector<std::string>{"default"}));
  EXPECT_EQ(c.labels, (std::map<std::string, std::string>{{"j", "img"}, {"k", "mine"}}));
  ContainerConfig given;  // --entrypoint given: the image's Cmd and Entrypoint stay out
  given.entrypoint = std::vector<std::string>{"/other"};
  given.user = "root";
  merge_image_config(given, img);
  EXPECT_EQ(given.entrypoint, (std::vector<std::string>{"/other"}));
  EXPECT_FALSE(given.cmd.has_value());
  EXPECT_EQ(given.user, "root");
}

TEST(Capabilities, PrivilegedGetsTheBoundingSet) {
  HostConfig h;
  h.privileged = true;
  auto caps = effective_caps(h);
  for (int i = 0; i <= runtime::last_known_capability(); ++i) {
    int in_bounding = ::prctl(PR_CAPBSET_READ, i);
    if (in_bounding < 0) break;
    EXPECT_EQ(std::count(caps.begin(), caps.end(), runtime::capability_name(i)), in_bounding) << i;
  }
}

TEST(Ulimits, UnknownNameRefused) {
  HostConfig h;
  h.ulimits = {{"nofile", 10, 20}};
  check_ulimits(h);
  h.ulimits.push_back({"bogus", 1, 1});
  EXPECT_THROW(check_ulimits(h), Error);
}
