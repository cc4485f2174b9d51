// cgroup v1 devices controller: devices.deny "a" resets to deny-all, then
// each rule is one write to devices.allow or devices.deny, in order.
#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

namespace {

void validate(const oci::DeviceCgroupRule& r, const std::string& field) {
  if (r.type != "a" && r.type != "c" && r.type != "b")
    fail(field + ".type: \"" + r.type + "\" is not a, c or b");
  if (r.access.find_first_not_of("rwm") != std::string::npos)
    fail(field + ".access: \"" + r.access + "\" is not a subset of \"rwm\"");
  if ((r.major && *r.major < 0) || (r.minor && *r.minor < 0))
    fail(field + ": negative device numbers mean wildcard; leave the field out instead");
}

oci::DeviceCgroupRule allow(const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                            const char* access) {
  oci::DeviceCgroupRule r;
  r.allow = true;
  r.type = type;
  r.major = major;
  r.minor = minor;
  r.access = access;
  return r;
}

}  // namespace

const std::vector<oci::DeviceCgroupRule>& default_allowed_devices() {
  static const std::vector<oci::DeviceCgroupRule> rules = {
      allow("c", std::nullopt, std::nullopt, "m"),  // mknod of any device node
      allow("b", std::nullopt, std::nullopt, "m"),
      allow("c", 1, 3, "rwm"),             // /dev/null
      allow("c", 1, 8, "rwm"),             // /dev/random
      allow("c", 1, 7, "rwm"),             // /dev/full
      allow("c", 5, 0, "rwm"),             // /dev/tty
      allow("c", 1, 5, "rwm"),             // /dev/zero
      allow("c", 1, 9, "rwm"),             // /dev/urandom
      allow("c", 5, 1, "rwm"),             // /dev/console
      allow("c", 136, std::nullopt, "rwm"),  // /dev/pts/*
      allow("c", 5, 2, "rwm"),             // /dev/ptmx
      allow("c", 10, 200, "rwm"),          // /dev/net/tun
  };
  return rules;
}

std::string v1_device_rule_line(const oci::DeviceCgroupRule& r) {
  auto num = [](const std::optional<int64_t>& n) { return n ? std::to_string(*n) : std::string("*"); };
  return (r.type.empty() ? std::string("a") : r.type) + " " + num(r.major) + ":" + num(r.minor) + " " +
         (r.access.empty() ? std::string("rwm") : r.access);
}

void plan_v1_devices(const std::vector<oci::DeviceCgroupRule>& rules, Plan& out) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    std::string field = res_field("devices[" + std::to_string(i) + "]");
    validate(r, field);
    bool all = (r.type.empty() || r.type == "a") && !r.major && !r.minor &&
               (r.access.empty() || r.access == "rwm");
    // "a" on its own line resets the whole list (the kernel's syntax for
    // "everything"); other rules add or remove one entry.
    std::string line = all ? "a" : v1_device_rule_line(r);
    out.push_back({"devices", r.allow ? "devices.allow" : "devices.deny", line, field, "", ""});
  }
}

}  // namespace berth::runtime::cgroups

namespace berth::runtime {

std::vector<oci::DeviceCgroupRule> device_allow_rules(const std::vector<oci::Device>& devices) {
  std::vector<oci::DeviceCgroupRule> out;
  for (const auto& d : devices) {
    if (d.type != "c" && d.type != "b" && d.type != "u") continue;  // fifos need no rule
    oci::DeviceCgroupRule r;
    r.allow = true;
    r.type = d.type == "b" ? "b" : "c";
    r.major = d.major;
    r.minor = d.minor;
    r.access = "rwm";
    out.push_back(r);
  }
  return out;
}

}  // namespace berth::runtime
