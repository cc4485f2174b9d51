#include "engine/networks.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/json_text.hpp"
#include "engine/names.hpp"
#include "net/ip6_address.hpp"
#include "net/ip_address.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

Network parse(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error("network record is not valid JSON", ErrorKind::Corrupt);
  Network n;
  n.id = j.value("Id", "");
  n.name = j.value("Name", "");
  n.created = j.value("Created", "");
  n.driver = j.value("Driver", "bridge");
  n.subnet = j.value("Subnet", "");
  n.gateway = j.value("Gateway", "");
  n.bridge = j.value("Bridge", "");
  n.internal = j.value("Internal", false);
  n.ipv6 = j.value("EnableIPv6", false);
  n.subnet6 = j.value("Subnet6", "");
  n.gateway6 = j.value("Gateway6", "");
  n.labels = j.value("Labels", std::map<std::string, std::string>{});
  return n;
}

std::string dump(const Network& n) {
  json j{{"Id", n.id},         {"Name", n.name},     {"Created", n.created},   {"Driver", n.driver},
         {"Subnet", n.subnet}, {"Gateway", n.gateway}, {"Bridge", n.bridge}, {"Internal", n.internal},
         {"Labels", n.labels}};
  if (n.ipv6) {
    j["EnableIPv6"] = true;
    j["Subnet6"] = n.subnet6;
    j["Gateway6"] = n.gateway6;
  }
  return json_text(j);
}

void check_name(const std::string& n) {
  bool ok = !n.empty() && n.size() <= 64 && std::isalnum(static_cast<unsigned char>(n[0]));
  for (char c : n) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  if (!ok)
    fail("invalid network name \"" + n + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  if (n == "host" || n == "none" || n == "default" || n == "bridge")
    throw Error("network name " + n + " is reserved (a predefined network)", ErrorKind::AlreadyExists);
}

}  // namespace

std::string mac_for_address(const std::string& ipv4) {
  uint32_t v = net::parse_ipv4(ipv4, "address").value;
  char buf[18];
  std::snprintf(buf, sizeof buf, "02:42:%02x:%02x:%02x:%02x", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
  return buf;
}

bool valid_mac(const std::string& m) {
  if (m.size() != 17) return false;
  for (size_t i = 0; i < m.size(); ++i)
    if (i % 3 == 2 ? m[i] != ':' : !std::isxdigit(static_cast<unsigned char>(m[i]))) return false;
  return true;
}

Networks::Networks(Database& db) : db_(db) {
  db_.exec(
      "CREATE TABLE IF NOT EXISTS networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, record TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS leases (network_id TEXT NOT NULL, address TEXT NOT NULL,"
      " container_id TEXT NOT NULL, PRIMARY KEY (network_id, address))");
}

std::optional<Network> Networks::find(const std::string& ref) {
  if (ref.empty()) return std::nullopt;
  {
    auto st = db_.prepare("SELECT record FROM networks WHERE id = ? OR name = ?");
    st.bind(1, ref).bind(2, ref);
    if (st.step()) return parse(st.text(0));
  }
  if (ref.find_first_not_of("0123456789abcdef") == std::string::npos) {
    auto st = db_.prepare("SELECT record FROM networks WHERE substr(id, 1, ?) = ?");
    st.bind(1, static_cast<int64_t>(ref.size())).bind(2, ref);
    if (st.step()) {
      Network n = parse(st.text(0));
      if (st.step()) throw Error("network " + ref + " is ambiguous (" + ref + " is a prefix of several ids)",
                                 ErrorKind::InvalidArgument);
      return n;
    }
  }
  if (ref == kDefault) return make_default();
  return std::nullopt;
}

Network Networks::get(const std::string& ref) {
  if (auto n = find(ref)) return *n;
  throw Error("network " + ref + " not found", ErrorKind::NotFound);
}

namespace {
void plan_ipv6(Network& n, const NetworkCreateRequest& r, const std::vector<Network>& others);
}  // namespace

Network Networks::make_default() {
  Network n;
  n.id = random_id();
  n.name = kDefault;
  n.created = now_rfc3339();
  const char* env = std::getenv("BERTH_BRIDGE_SUBNET");
  net::Subnet s = net::parse_subnet(env && *env ? env : "10.88.0.0/16", "BERTH_BRIDGE_SUBNET");
  n.subnet = net::to_string(s);
  n.gateway = net::to_string(s.at(1));
  n.bridge = "berth0";
  Transaction t(db_);
  // Dual stack only when asked, as docker's daemon-wide --ipv6 with
  // --fixed-cidr-v6: the default network is made once, so this is read
  // when it is first made (like BERTH_BRIDGE_SUBNET).
  if (const char* v6 = std::getenv("BERTH_BRIDGE_SUBNET6"); v6 && *v6) {
    NetworkCreateRequest r;
    r.ipv6 = true;
    r.subnet6 = v6;
    try {
      plan_ipv6(n, r, stored());
    } catch (Error& e) {
      throw e.wrap("BERTH_BRIDGE_SUBNET6");
    }
  }
  // Another CLI may have made it first: theirs stands.
  auto st = db_.prepare("SELECT record FROM networks WHERE name = ?");
  st.bind(1, n.name);
  if (st.step()) return parse(st.text(0));
  db_.prepare("INSERT INTO networks (id, name, record) VALUES (?, ?, ?)").bind(1, n.id).bind(2, n.name).bind(3, dump(n)).run();
  t.commit();
  return n;
}

namespace {

// The IPv6 half of a dual-stack network: its subnet (given, or a unique
// local /64) and gateway, checked against the other networks' subnets.
void plan_ipv6(Network& n, const NetworkCreateRequest& r, const std::vector<Network>& others) {
  net::Subnet6 s;
  if (!r.subnet6.empty()) {
    s = net::parse_subnet6(r.subnet6, "network create --subnet");
    // A host address needs room after the gateway; /64 is what SLAAC and
    // docker expect, but a smaller routed prefix is allowed down to /120.
    if (s.prefix > 120) fail("network create --subnet " + r.subnet6 + ": too small for IPv6 (at most /120)");
  } else {
    s = net::unique_local_subnet(n.id);
  }
  for (const auto& o : others)
    if (!o.subnet6.empty() && s.overlaps(net::parse_subnet6(o.subnet6, "network " + o.name)))
      throw Error("network create --subnet " + net::to_string(s) + ": overlaps network " + o.name + " (" + o.subnet6 + ")",
                  ErrorKind::AlreadyExists);
  n.subnet6 = net::to_string(s);
  if (!r.gateway6.empty()) {
    net::Ipv6 g = net::parse_ipv6(r.gateway6, "network create --gateway");
    if (!s.contains(g) || g == s.base)
      fail("network create --gateway " + r.gateway6 + ": not a host address of subnet " + n.subnet6);
    n.gateway6 = net::to_string(g);
  } else {
    n.gateway6 = net::to_string(s.at(1));
  }
  n.ipv6 = true;
}

}  // namespace

Network Networks::create(const NetworkCreateRequest& req) {
  check_name(req.name);
  // docker's --subnet and --gateway take either family: sort them.
  NetworkCreateRequest r = req;
  if (r.subnet.find(':') != std::string::npos) {
    if (!r.subnet6.empty()) fail("network create: two IPv6 subnets (" + r.subnet6 + ", " + r.subnet + "); give one");
    r.subnet6 = r.subnet;
    r.subnet.clear();
  }
  if (r.gateway.find(':') != std::string::npos) {
    if (!r.gateway6.empty()) fail("network create: two IPv6 gateways (" + r.gateway6 + ", " + r.gateway + "); give one");
    r.gateway6 = r.gateway;
    r.gateway.clear();
  }
  if (!r.ipv6 && !r.subnet6.empty())
    fail("network create --subnet " + r.subnet6 + ": an IPv6 subnet needs --ipv6");
  if (r.subnet.empty() && !r.gateway.empty()) fail("network create: --gateway needs --subnet");
  if (r.subnet6.empty() && !r.gateway6.empty()) fail("network create: --gateway " + r.gateway6 + " needs an IPv6 --subnet");
  Network n;
  n.name = r.name;
  n.internal = r.internal;
  n.labels = r.labels;
  n.id = random_id();
  list();  // the default network first: its subnet is taken too
  Transaction t(db_);
  // By name only: a name made of hex digits may also be a prefix of
  // another network's id, which is no conflict.
  auto same = db_.prepare("SELECT 1 FROM networks WHERE name = ?");
  same.bind(1, r.name);
  if (same.step()) throw Error("network with name " + r.name + " already exists", ErrorKind::AlreadyExists);
  std::vector<Network> others = stored();
  std::vector<std::pair<net::Subnet, std::string>> taken;
  for (const auto& o : others) taken.push_back({net::parse_subnet(o.subnet, "network " + o.name), o.name});
  net::Subnet s;
  if (!r.subnet.empty()) {
    s = net::parse_subnet(r.subnet, "network create --subnet");
    if (s.prefix > 30) fail("network create --subnet " + r.subnet + ": too small (at most /30)");
    for (const auto& [o, name] : taken)
      if (s.overlaps(o))
        throw Error("network create --subnet " + r.subnet + ": overlaps network " + name + " (" + net::to_string(o) + ")",
                    ErrorKind::AlreadyExists);
  } else {
    // As Podman: the first free /24 from 10.89.0.0.
    bool found = false;
    for (uint32_t k = 0; k < 256 && !found; ++k) {
      s = net::parse_subnet("10.89." + std::to_string(k) + ".0/24", "subnet");
      found = true;
      for (const auto& [o, name] : taken) found = found && !s.overlaps(o);
    }
    if (!found) throw Error("network create: no free subnet left in 10.89.0.0/16; give one with --subnet");
  }
  n.subnet = net::to_string(s);
  if (!r.gateway.empty()) {
    net::Ipv4 g = net::parse_ipv4(r.gateway, "network create --gateway");
    if (!s.contains(g) || g == s.base || g == s.broadcast())
      fail("network create --gateway " + r.gateway + ": not a host address of subnet " + n.subnet);
    n.gateway = r.gateway;
  } else {
    n.gateway = net::to_string(s.at(1));
  }
  if (r.ipv6) plan_ipv6(n, r, others);
  n.created = now_rfc3339();
  n.bridge = "br-" + n.id.substr(0, 12);
  db_.prepare("INSERT INTO networks (id, name, record) VALUES (?, ?, ?)").bind(1, n.id).bind(2, n.name).bind(3, dump(n)).run();
  t.commit();
  return n;
}

std::vector<Network> Networks::stored() {
  std::vector<Network> out;
  auto st = db_.prepare("SELECT record FROM networks ORDER BY name");
  while (st.step()) out.push_back(parse(st.text(0)));
  return out;
}

std::vector<Network> Networks::list() {
  std::vector<Network> out = stored();
  for (const auto& n : out)
    if (n.name == kDefault) return out;
  out.insert(out.begin(), make_default());
  return out;
}

void Networks::remove(const std::string& id) {
  Transaction t(db_);
  db_.prepare("DELETE FROM leases WHERE network_id = ?").bind(1, id).run();
  db_.prepare("DELETE FROM networks WHERE id = ?").bind(1, id).run();
  t.commit();
}

void Networks::record_lease(const std::string& network_id, const std::string& address, const std::string& container_id) {
  db_.prepare("INSERT INTO leases (network_id, address, container_id) VALUES (?, ?, ?)")
      .bind(1, network_id)
      .bind(2, address)
      .bind(3, container_id)
      .run();
}

std::string Networks::lease(const Network& n, const std::string& container_id, const std::string& requested) {
  net::Subnet s = net::parse_subnet(n.subnet, "network " + n.name);
  net::Ipv4 gw = net::parse_ipv4(n.gateway, "network " + n.name);
  Transaction t(db_);
  std::set<uint32_t> used;
  {
    auto st = db_.prepare("SELECT address FROM leases WHERE network_id = ? AND instr(address, ':') = 0");
    st.bind(1, n.id);
    while (st.step()) used.insert(net::parse_ipv4(st.text(0), "lease").value);
  }
  net::Ipv4 pick{};
  if (!requested.empty()) {
    pick = net::parse_ipv4(requested, "--ip");
    if (!s.contains(pick) || pick == s.base || pick == s.broadcast() || pick == gw)
      fail("--ip " + requested + ": not a free host address of network " + n.name + " (" + n.subnet + ")");
    if (used.count(pick.value))
      throw Error("--ip " + requested + ": the address is already in use on network " + n.name, ErrorKind::AlreadyExists);
  } else {
    bool found = false;
    for (uint64_t k = 1; k + 1 < s.size() && !found; ++k) {
      pick = s.at(k);
      found = pick != gw && !used.count(pick.value);
    }
    if (!found) throw Error("network " + n.name + " has no free address left (" + n.subnet + ")", ErrorKind::FailedPrecondition);
  }
  std::string a = net::to_string(pick);
  record_lease(n.id, a, container_id);
  t.commit();
  return a;
}

std::string Networks::lease6(const Network& n, const std::string& container_id, const std::string& requested) {
  if (n.subnet6.empty()) {
    if (!requested.empty()) fail("--ip6 " + requested + ": network " + n.name + " has no IPv6 subnet (network create --ipv6)");
    return "";
  }
  net::Subnet6 s = net::parse_subnet6(n.subnet6, "network " + n.name);
  net::Ipv6 gw = net::parse_ipv6(n.gateway6, "network " + n.name);
  Transaction t(db_);
  std::set<net::Ipv6> used;
  {
    auto st = db_.prepare("SELECT address FROM leases WHERE network_id = ? AND instr(address, ':') > 0");
    st.bind(1, n.id);
    while (st.step()) used.insert(net::parse_ipv6(st.text(0), "lease"));
  }
  net::Ipv6 pick{};
  if (!requested.empty()) {
    pick = net::parse_ipv6(requested, "--ip6");
    if (!s.contains(pick) || pick == s.base || pick == gw)
      fail("--ip6 " + requested + ": not a free host address of network " + n.name + " (" + n.subnet6 + ")");
    if (used.count(pick))
      throw Error("--ip6 " + requested + ": the address is already in use on network " + n.name, ErrorKind::AlreadyExists);
  } else {
    // The lowest free one; a /64 never runs out, a /120 may.
    bool found = false;
    for (uint64_t k = 1; k < s.size() && !found; ++k) {
      pick = s.at(k);
      found = pick != gw && !used.count(pick);
    }
    if (!found)
      throw Error("network " + n.name + " has no free IPv6 address left (" + n.subnet6 + ")", ErrorKind::FailedPrecondition);
  }
  std::string a = net::to_string(pick);
  record_lease(n.id, a, container_id);
  t.commit();
  return a;
}

void Networks::release(const std::string& container_id, const std::string& network_id) {
  if (network_id.empty())
    db_.prepare("DELETE FROM leases WHERE container_id = ?").bind(1, container_id).run();
  else
    db_.prepare("DELETE FROM leases WHERE container_id = ? AND network_id = ?").bind(1, container_id).bind(2, network_id).run();
}

std::vector<Lease> Networks::leases(const std::string& network_id) {
  std::vector<Lease> out;
  auto st = db_.prepare(network_id.empty() ? "SELECT network_id, address, container_id FROM leases ORDER BY network_id, address"
                                           : "SELECT network_id, address, container_id FROM leases WHERE network_id = ?");
  if (!network_id.empty()) st.bind(1, network_id);
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2)});
  return out;
}

void Networks::reconcile() {
  // A VM's lease (owner vm:NAME, engine/vm_network.hpp) lives as long as
  // the VM's record; table vms is made by the first `berth vm` command.
  bool vms = false;
  {
    auto st = db_.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vms'");
    vms = st.step();
  }
  db_.exec(vms ? "DELETE FROM leases WHERE container_id NOT IN (SELECT id FROM containers)"
                 " AND container_id NOT IN (SELECT 'vm:' || name FROM vms)"
               : "DELETE FROM leases WHERE container_id NOT IN (SELECT id FROM containers)");
}

}  // namespace berth::engine
