#include "vmm/machine_section.hpp"

#include "vmm/device_state.hpp"

#include <cstdint>

#include <net/if.h>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace berth::vmm {

std::string auto_tap_name(const std::string& vm_name) { return ("bt-" + vm_name).substr(0, IFNAMSIZ - 1); }

nlohmann::json machine_section(const VmConfig& cfg, const GuestMemory& mem, const std::string& name) {
  nlohmann::json regions = nlohmann::json::array(), disks = nlohmann::json::array();
  for (const auto& r : mem.regions()) regions.push_back({r.gpa, r.size});
  for (const auto& d : cfg.disks) disks.push_back({{"path", d.path}, {"readonly", d.readonly}});
  return {{"name", name},
          {"taken", now_rfc3339()},
          {"cpus", cfg.cpus},
          {"memory", cfg.memory},
          {"regions", std::move(regions)},
          {"kernel", cfg.boot.kernel},
          {"cmdline", cfg.boot.cmdline},
          {"disks", std::move(disks)},
          {"tap", cfg.tap},
          {"rng", cfg.rng},
          {"channel", cfg.channel}};
}

MachineSection parse_machine_section(const nlohmann::json& m, const std::string& what) {
  MachineSection out;
  VmConfig& vm = out.vm;
  // A whole number, not a float: nlohmann's get<> of 2.09e154 into an
  // integer is undefined behaviour (found by the snapshot_file fuzzer).
  auto whole = [&](const char* key, uint64_t max) {
    const auto& v = m.at(key);
    if (!state_is_uint(v) || v.get<uint64_t>() > max)
      fail(what + " is damaged: its machine section's " + key + " is " + v.dump().substr(0, 40), ErrorKind::Corrupt);
    return v.get<uint64_t>();
  };
  try {
    out.name = m.at("name").get<std::string>();
    vm.cpus = static_cast<int>(whole("cpus", 4096));
    vm.memory = whole("memory", UINT64_MAX);
    vm.boot.kernel = m.at("kernel").get<std::string>();
    vm.boot.cmdline = m.at("cmdline").get<std::string>();
    vm.rng = m.at("rng").get<bool>();
    vm.tap = m.at("tap").get<std::string>();
    vm.channel = m.at("channel").get<std::string>();
    for (const auto& d : m.at("disks")) vm.disks.push_back({d.at("path").get<std::string>(), d.at("readonly").get<bool>()});
  } catch (const nlohmann::json::exception& e) {
    fail(what + " is damaged: its machine section: " + e.what(), ErrorKind::Corrupt);
  }
  return out;
}

void rebind(MachineSection& m, const std::string& name, const std::string& state_dir) {
  if (m.vm.tap == auto_tap_name(m.name)) m.vm.tap = auto_tap_name(name);
  std::string old_default = "/vms/" + m.name + "/channel.sock";
  const std::string& ch = m.vm.channel;
  if (ch.size() > old_default.size() && ch.compare(ch.size() - old_default.size(), old_default.size(), old_default) == 0)
    m.vm.channel = state_dir + "/channel.sock";
  m.name = name;
}

nlohmann::json record_config(const MachineSection& m) {
  const VmConfig& vm = m.vm;
  nlohmann::json disks = nlohmann::json::array();
  for (const auto& d : vm.disks) disks.push_back({{"path", d.path}, {"readonly", d.readonly}});
  std::string net = vm.tap.empty() ? "none" : vm.tap == auto_tap_name(m.name) ? "tap" : "tap:" + vm.tap;
  return {{"kernel", vm.boot.kernel}, {"initrd", ""},      {"cmdline", vm.boot.cmdline},
          {"cpus", vm.cpus},          {"memory", vm.memory}, {"disks", disks},
          {"net", net},               {"tap", vm.tap},       {"rng", vm.rng},
          {"channel", vm.channel},    {"rm", false}};
}

}  // namespace berth::vmm
