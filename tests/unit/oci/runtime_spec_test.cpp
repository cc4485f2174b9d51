#include "oci/runtime_spec.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

using berth::Error;
using berth::ErrorKind;
using namespace berth::oci;
using nlohmann::json;

namespace {

json minimal() {
  return json::parse(R"({
    "ociVersion": "1.0.2",
    "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
    "root": {"path": "rootfs"},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
  })");
}

// Parses and expects an error whose message contains `needle`.
void expect_error(const json& j, const std::string& needle, ErrorKind kind = ErrorKind::InvalidArgument) {
  try {
    parse_spec(j.dump());
    FAIL() << "no error for " << j.dump();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), kind) << e.what();
  }
}

}  // namespace

TEST(RuntimeSpec, ParsesMinimal) {
  Spec s = parse_spec(minimal().dump());
  EXPECT_EQ(s.oci_version, "1.0.2");
  ASSERT_TRUE(s.process);
  EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
  ASSERT_TRUE(s.linux);
  ASSERT_EQ(s.linux->namespaces.size(), 2u);
  EXPECT_EQ(s.linux->namespaces[1].type, "mount");
}

TEST(RuntimeSpec, AcceptsVersions10To13) {
  for (const char* v : {"1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0", "1.1.0+dev"}) {
    json j = minimal();
    j["ociVersion"] = v;
    EXPECT_NO_THROW(parse_spec(j.dump())) << v;
  }
  for (const char* v : {"0.9.0", "1.4.0", "2.0.0"}) {
    json j = minimal();
    j["ociVersion"] = v;
    expect_error(j, "ociVersion", ErrorKind::Unsupported);
  }
  json j = minimal();
  j["ociVersion"] = "banana";
  expect_error(j, "ociVersion: \"banana\" is not a version");
  j.erase("ociVersion");
  expect_error(j, "ociVersion: missing");
}

TEST(RuntimeSpec, MalformedJsonIsInvalidArgument) {
  try {
    parse_spec("{\"ociVersion\": ");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos) << e.what();
  }
}

TEST(RuntimeSpec, ErrorsNameTheFieldPath) {
  json j = minimal();
  j["linux"]["namespaces"][1]["type"] = "foo";
  expect_error(j, "config.json: linux.namespaces[1].type: unknown namespace type \"foo\"");

  j = minimal();
  j["process"]["args"] = "sh";
  expect_error(j, "process.args: expected an array of strings");

  j = minimal();
  j["process"]["user"]["uid"] = -1;
  expect_error(j, "process.user.uid: must not be negative");

  j = minimal();
  j["process"]["env"] = {"NOEQUALS"};
  expect_error(j, "process.env[0]");

  j = minimal();
  j["linux"]["namespaces"].push_back({{"type", "pid"}});
  expect_error(j, "duplicate namespace");
}

TEST(RuntimeSpec, MappingsNeedUserNamespace) {
  json j = minimal();
  j["linux"]["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}});
  expect_error(j, "linux.uidMappings");
  j["linux"]["namespaces"].push_back({{"type", "user"}});
  expect_error(j, "linux.gidMappings: a new user namespace needs");
  j["linux"]["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 0}}});
  expect_error(j, "linux.gidMappings[0].size: must be at least 1");
  j["linux"]["gidMappings"][0]["size"] = 1;
  Spec s = parse_spec(j.dump());
  EXPECT_EQ(s.linux->uid_mappings[0].host_id, 1000u);
}

TEST(RuntimeSpec, UnsupportedFieldsAreNamed) {
  struct Case {
    const char* pointer;
    json value;
    const char* name;
  } cases[] = {
      {"/linux/intelRdt", {{"closID", "x"}}, "linux.intelRdt"},
      {"/linux/personality", {{"domain", "LINUX32"}, {"flags", {"SHORT_INODE"}}}, "linux.personality.flags"},
      {"/linux/netDevices", {{"eth0", json::object({{"name", "x"}})}}, "linux.netDevices"},
      {"/vm", {{"hypervisor", {{"path", "/usr/bin/qemu"}}}}, "vm"},
  };
  for (auto& c : cases) {
    json j = minimal();
    j[json::json_pointer(c.pointer)] = c.value;
    expect_error(j, c.name, ErrorKind::Unsupported);
  }
}

TEST(RuntimeSpec, SchedulingPersonalityAndMemoryPolicy) {
  json j = minimal();
  j["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 5}, {"flags", {"SCHED_FLAG_RESET_ON_FORK"}}};
  j["process"]["execCPUAffinity"] = {{"initial", "0"}, {"final", "0-1"}};
  j["linux"]["personality"] = {{"domain", "LINUX32"}};
  j["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}, {"nodes", "0"}, {"flags", {"MPOL_F_STATIC_NODES"}}};
  Spec s = parse_spec(j.dump());
  EXPECT_EQ(s.process->scheduler->policy, "SCHED_BATCH");
  EXPECT_EQ(s.process->scheduler->nice, 5);
  EXPECT_EQ(s.process->exec_cpu_affinity->final_cpus, "0-1");
  EXPECT_EQ(s.linux->personality->domain, "LINUX32");
  EXPECT_EQ(s.linux->memory_policy->flags, (std::vector<std::string>{"MPOL_F_STATIC_NODES"}));
  Spec back = parse_spec(to_json(s));
  EXPECT_EQ(back.process->scheduler->flags, s.process->scheduler->flags);
  EXPECT_EQ(back.process->exec_cpu_affinity->initial, "0");
  EXPECT_EQ(back.linux->memory_policy->nodes, "0");

  // Unknown names are errors naming the field and the choices.
  auto bad = [&](const char* pointer, json value, const char* name) {
    json k = j;
    k[json::json_pointer(pointer)] = value;
    expect_error(k, name);
  };
  bad("/process/scheduler/policy", "SCHED_FAST", "process.scheduler.policy: unknown value \"SCHED_FAST\"");
  bad("/process/scheduler/flags", {"SCHED_FLAG_NOPE"}, "process.scheduler.flags[0]");
  bad("/process/scheduler", json::object(), "process.scheduler.policy: missing");
  bad("/linux/personality/domain", "LINUX64", "linux.personality.domain");
  bad("/linux/memoryPolicy/mode", "MPOL_ALL", "linux.memoryPolicy.mode");
  bad("/linux/memoryPolicy/flags", {"MPOL_F_X"}, "linux.memoryPolicy.flags[0]");
}

// Parsed for the runtime to judge (runtime/lsm_labels.hpp), not refused here.
TEST(RuntimeSpec, SecurityLabelsAreParsed) {
  json j = minimal();
  j["process"]["apparmorProfile"] = "docker-default";
  j["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0";
  j["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0";
  Spec s = parse_spec(j.dump());
  EXPECT_EQ(s.process->apparmor_profile, "docker-default");
  EXPECT_EQ(s.process->selinux_label, "system_u:system_r:container_t:s0");
  EXPECT_EQ(s.linux->mount_label, "system_u:object_r:container_file_t:s0");
  Spec back = parse_spec(to_json(s));
  EXPECT_EQ(back.process->apparmor_profile, "docker-default");
  EXPECT_EQ(back.linux->mount_label, s.linux->mount_label);
}

TEST(RuntimeSpec, OtherPlatformsFieldsAreRecordedAsIgnored) {
  json j = minimal();
  EXPECT_TRUE(parse_spec(j.dump()).ignored.empty());
  j["process"]["commandLine"] = "cmd.exe /c dir";
  j["windows"] = {{"layerFolders", {"C:\\layers"}}};
  j["solaris"] = {{"milestone", "svc:/milestone/container:default"}};
  Spec s = parse_spec(j.dump());
  std::vector<std::string> fields;
  for (const auto& [field, why] : s.ignored) fields.push_back(field);
  EXPECT_EQ(fields, (std::vector<std::string>{"process.commandLine", "windows", "solaris"}));
  // exec -p: dropped silently, as runc does.
  EXPECT_EQ(parse_process(j["process"].dump()).args, (std::vector<std::string>{"sh"}));
}

TEST(RuntimeSpec, UnknownFieldsAreIgnored) {
  json j = minimal();
  j["someFutureThing"] = {{"x", 1}};
  j["process"]["somethingNew"] = true;
  EXPECT_NO_THROW(parse_spec(j.dump()));
}

TEST(RuntimeSpec, HostnameNeedsUts) {
  json j = minimal();
  j["hostname"] = "box";
  expect_error(j, "hostname");
  j["linux"]["namespaces"].push_back({{"type", "uts"}});
  EXPECT_EQ(parse_spec(j.dump()).hostname, "box");
}

TEST(RuntimeSpec, TimeOffsetsNeedTimeNamespace) {
  json j = minimal();
  j["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 100}}}};
  expect_error(j, "linux.timeOffsets");
  j["linux"]["namespaces"].push_back({{"type", "time"}});
  Spec s = parse_spec(j.dump());
  EXPECT_EQ(s.linux->time_offsets.at("monotonic").secs, 100);
}

TEST(RuntimeSpec, FullRoundTrip) {
  Spec d = default_spec(false);
  d.hooks = Hooks{};
  d.hooks->poststart.push_back({"/bin/true", {"true", "x"}, {"A=B"}, 5});
  d.linux->resources->memory = MemoryResources{};
  d.linux->resources->memory->limit = 1 << 20;
  d.linux->sysctl["net.ipv4.ip_forward"] = "1";
  d.linux->seccomp = Seccomp{};
  d.linux->seccomp->default_action = "SCMP_ACT_ALLOW";
  d.linux->seccomp->syscalls.push_back({{"mkdir"}, "SCMP_ACT_ERRNO", 1, {{0, 1, 0, "SCMP_CMP_EQ"}}});
  d.annotations["a"] = "b";
  std::string once = to_json(d);
  Spec back = parse_spec(once);
  EXPECT_EQ(to_json(back), once);
  EXPECT_EQ(back.hooks->poststart[0].timeout, 5);
  EXPECT_EQ(back.linux->resources->memory->limit, 1 << 20);
  EXPECT_TRUE(back.process->terminal);
  EXPECT_EQ(back.linux->masked_paths.size(), d.linux->masked_paths.size());
}

TEST(RuntimeSpec, ParseProcessForExec) {
  Process p = parse_process(R"({"args": ["ls", "-l"], "cwd": "/tmp", "env": ["A=1"], "terminal": true})");
  EXPECT_EQ(p.args.size(), 2u);
  EXPECT_EQ(p.cwd, "/tmp");
  EXPECT_TRUE(p.terminal);
  try {
    parse_process(R"({"args": [], "cwd": "/"})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("process.json: args"), std::string::npos) << e.what();
  }
}

TEST(RuntimeSpec, HookPathsMustBeAbsolute) {
  json j = minimal();
  j["hooks"] = {{"prestart", {{{"path", "relative/hook"}}}}};
  expect_error(j, "hooks.prestart[0].path");
}
