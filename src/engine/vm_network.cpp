#include "engine/vm_network.hpp"

#include <net/if.h>

#include <cstdio>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "engine/network_helper.hpp"
#include "engine/networks.hpp"
#include "net/ip_address.hpp"
#include "net/plan.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

// A NIC's MAC: well-formed and unicast (the low bit of the first byte
// marks a multicast address).
bool unicast_mac(const std::string& m) { return valid_mac(m) && (std::stoi(m.substr(0, 2), nullptr, 16) & 1) == 0; }

std::string netmask(int prefix) {
  uint32_t m = prefix == 0 ? 0 : ~0u << (32 - prefix);
  return net::to_string(net::Ipv4{m});
}

}  // namespace

json to_json(const VmNetwork& n) {
  return {{"Network", n.network}, {"NetworkID", n.network_id}, {"IPAddress", n.address}, {"IPPrefixLen", n.prefix},
          {"Gateway", n.gateway}, {"MacAddress", n.mac},       {"Tap", n.tap},           {"Bridge", n.bridge},
          {"DNS", n.dns}};
}

VmNetworks::VmNetworks(Database& db, std::string root, std::string state)
    : db_(db), root_(std::move(root)), state_(std::move(state)) {}

std::string VmNetworks::tap_name(const std::string& vm) const {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0) * 1099511628211ull;
  };
  mix(root_);
  mix(vm);
  char b[16];
  std::snprintf(b, sizeof b, "vt%010llx", static_cast<unsigned long long>(h & 0xffffffffffull));
  return b;
}

bool VmNetworks::has_tap(const std::string& vm) const { return ::if_nametoindex(tap_name(vm).c_str()) != 0; }

std::string VmNetworks::kernel_ip_arg(const VmNetwork& n, const std::string& hostname) {
  std::string s = "ip=" + n.address + "::" + n.gateway + ":" + netmask(n.prefix) + ":" + hostname + ":eth0:off";
  if (!n.dns.empty()) s += ":" + n.dns;
  return s;
}

namespace {

net::Endpoint tap_plan(const Network& n, const std::string& tap, const std::string& state) {
  net::Endpoint p;
  p.network = {n.name, n.bridge, n.subnet, n.gateway, n.internal, "", n.subnet6, n.gateway6};
  // A user network's responder (started with its bridge) answers the
  // guest too; its names file is the engine's (write_dns_hosts).
  if (n.name != Networks::kDefault) p.network.dns_hosts = state + "/netns/dns-" + n.id + ".hosts";
  p.host_ifname = tap;
  p.tap = true;
  return p;
}

}  // namespace

bool VmNetworks::is_network_tap(const std::string& tap) {
  return tap.size() == 12 && tap.rfind("vt", 0) == 0 && tap.find_first_not_of("0123456789abcdef", 2) == std::string::npos;
}

std::string VmNetworks::address_in_cmdline(const std::string& cmdline) {
  std::string addr;
  for (size_t at = 0; (at = cmdline.find("ip=", at)) != std::string::npos; at += 3)
    if (at == 0 || cmdline[at - 1] == ' ') addr = cmdline.substr(at + 3, cmdline.find_first_of(": ", at + 3) - at - 3);
  return net::is_ipv4(addr) ? addr : "";
}

std::string VmNetworks::network_holding(const std::string& address) {
  net::Ipv4 a = net::parse_ipv4(address, "address");
  for (const auto& n : Networks(db_).list())
    if (!n.subnet.empty() && net::parse_subnet(n.subnet, "network " + n.name).contains(a)) return n.name;
  return "";
}

std::string VmNetworks::dns_lines(const std::string& network_id) {
  std::string out;
  for (const auto& l : Networks(db_).leases(network_id))
    if (l.container_id.rfind("vm:", 0) == 0 && has_tap(l.container_id.substr(3)))
      out += l.address + " " + l.container_id.substr(3) + "\n";
  return out;
}

void VmNetworks::publish_name(const std::string& network_id, const std::string& network_name, const std::string& vm,
                              const std::string& address, bool add) {
  if (network_name == Networks::kDefault) return;  // no names there, as docker's
  std::string path = state_ + "/netns/dns-" + network_id + ".hosts";
  std::string line = address + " " + vm, text, old = fs::exists(path) ? fs::read_file(path) : "";
  for (size_t at = 0; at < old.size();) {
    size_t nl = old.find('\n', at);
    std::string l = old.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (!l.empty() && l != line) text += l + "\n";
    at = nl == std::string::npos ? old.size() : nl + 1;
  }
  if (add) text += line + "\n";
  fs::mkdir_p(state_ + "/netns", 0700);
  fs::write_file_atomic(path, text);
}

VmNetwork VmNetworks::attach(const std::string& vm, const std::string& ref, const std::string& mac,
                             const std::string& address) {
  if (!mac.empty() && !unicast_mac(mac)) fail("--mac " + mac + ": not a unicast MAC address (like 02:42:0a:00:00:02)");
  Networks networks(db_);
  auto found = networks.find(ref);
  if (!found && ref == Networks::kDefault) found = networks.get(ref);  // made on first use
  if (!found)
    throw Error("--net " + ref + ": network " + ref + " not found (none, tap, tap:NAME, or a network of 'berth network ls')",
                ErrorKind::NotFound);
  const Network& n = *found;
  std::string owner = lease_owner(vm);
  networks.release(owner);  // of a VM of this name whose rm never ran
  VmNetwork v;
  v.network = n.name;
  v.network_id = n.id;
  try {
    v.address = networks.lease(n, owner, address);
  } catch (Error& e) {
    throw e.wrap("--net " + ref);
  }
  try {
    v.prefix = net::parse_subnet(n.subnet, "network " + n.name).prefix;
    v.gateway = n.internal ? "" : n.gateway;
    v.mac = mac.empty() ? mac_for_address(v.address) : mac;
    v.tap = tap_name(vm);
    v.bridge = n.bridge;
    net::Endpoint p = tap_plan(n, v.tap, state_);
    fs::mkdir_p(state_ + "/netns", 0700);  // the helper's lock is there, for the default bridge too
    if (!p.network.dns_hosts.empty()) {
      v.dns = n.gateway;
      // The responder starts with the bridge and reads this file; the
      // engine rewrites it whole as containers come and go.
      if (!fs::exists(p.network.dns_hosts)) fs::write_file_atomic(p.network.dns_hosts, "");
    }
    json req = {{"lock", state_ + "/netns/.lock"}, {"netns", ""}, {"endpoints", {p}}};
    run_network_helper("setup", json_text(req));
    publish_name(n.id, n.name, vm, v.address, true);
  } catch (Error& e) {
    undo_attach(vm);
    throw e.wrap("--net " + ref);
  } catch (...) {
    undo_attach(vm);
    throw;
  }
  return v;
}

// Whatever of attach() was done: the tap (a failed setup removed its own),
// the name, the lease.
void VmNetworks::undo_attach(const std::string& vm) {
  try {
    detach(vm, true);
  } catch (...) {  // the attach's own error says more
    Networks(db_).release(lease_owner(vm));
  }
}

void VmNetworks::detach(const std::string& vm, bool release) {
  Networks networks(db_);
  std::string owner = lease_owner(vm);
  if (has_tap(vm)) {
    Network n;  // no lease (cannot be): the tap still goes
    for (const auto& l : networks.leases())
      if (l.container_id == owner)
        if (auto f = networks.find(l.network_id)) {
          n = *f;
          publish_name(n.id, n.name, vm, l.address, false);
        }
    json req = {{"lock", state_ + "/netns/.lock"}, {"netns", ""}, {"endpoints", {tap_plan(n, tap_name(vm), state_)}}};
    fs::mkdir_p(state_ + "/netns", 0700);
    run_network_helper("teardown", json_text(req));
  }
  if (release) networks.release(owner);
}

}  // namespace berth::engine
