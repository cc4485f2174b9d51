#include "net/firewall.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/subprocess.hpp"
#include "net/ip_address.hpp"

namespace berth::net {

namespace {

// inet: one table for IPv4 and IPv6 (dual-stack networks), its rules
// split by family only where addresses are.
const char* kTable = R"(table inet berth {
  set bridges { type ifname; }
  set internal { type ifname; }
  set same_bridge { type ifname . ifname; }
  set masq_subnets { type ipv4_addr; flags interval; }
  set masq_subnets6 { type ipv6_addr; flags interval; }
  map publish_tcp { type inet_service : ipv4_addr . inet_service; }
  map publish_udp { type inet_service : ipv4_addr . inet_service; }
  map publish_ip_tcp { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
  map publish_ip_udp { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
  map publish6_tcp { type inet_service : ipv6_addr . inet_service; }
  map publish6_udp { type inet_service : ipv6_addr . inet_service; }
  map publish6_ip_tcp { type ipv6_addr . inet_service : ipv6_addr . inet_service; }
  map publish6_ip_udp { type ipv6_addr . inet_service : ipv6_addr . inet_service; }
  chain publish {
    dnat ip to ip daddr . tcp dport map @publish_ip_tcp
    dnat ip to ip daddr . udp dport map @publish_ip_udp
    meta nfproto ipv4 dnat ip to tcp dport map @publish_tcp
    meta nfproto ipv4 dnat ip to udp dport map @publish_udp
    dnat ip6 to ip6 daddr . tcp dport map @publish6_ip_tcp
    dnat ip6 to ip6 daddr . udp dport map @publish6_ip_udp
    meta nfproto ipv6 dnat ip6 to tcp dport map @publish6_tcp
    meta nfproto ipv6 dnat ip6 to udp dport map @publish6_udp
  }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; fib daddr type local jump publish; }
  chain output { type nat hook output priority -100; policy accept; fib daddr type local jump publish; }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname @bridges ip saddr 127.0.0.0/8 masquerade
    ct status dnat oifname @bridges ip saddr @masq_subnets masquerade
    ip saddr @masq_subnets oifname != @bridges masquerade
    ct status dnat oifname @bridges ip6 saddr @masq_subnets6 masquerade
    ip6 saddr @masq_subnets6 oifname != @bridges masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname . oifname @same_bridge accept
    iifname @internal drop
    oifname @internal drop
    ct status dnat accept
    iifname @bridges oifname @bridges drop
  }
}
)";

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

bool any_address(const std::string& ip) { return ip.empty() || ip == "0.0.0.0"; }

// The element of a publish map for `p`, in one family: "" when `p` has
// nothing there (no IPv6 address, or a host address of the other family).
// `with_value`: key and value (add), or the key alone (delete).
std::string port_element(const PortForward& p, bool v6, bool with_value) {
  bool host_v6 = p.host_ip.find(':') != std::string::npos;
  const std::string& to = v6 ? p.container_ip6 : p.container_ip;
  if (to.empty() || (!any_address(p.host_ip) && host_v6 != v6)) return "";
  // [::]: every IPv6 address (and, by the test above, no IPv4 one).
  bool any = any_address(p.host_ip) || p.host_ip == "::";
  std::string map = std::string(v6 ? "publish6_" : "publish_") + (any ? "" : "ip_") + p.proto;
  std::string key = any ? std::to_string(p.host_port) : p.host_ip + " . " + std::to_string(p.host_port);
  std::string value = with_value ? " : " + to + " . " + std::to_string(p.container_port) : "";
  return "inet berth " + map + " { " + key + value + " }";
}

// iptables or ip6tables (`name`), "" if not installed.
std::string iptables_path(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/"})
    if (::access((dir + name).c_str(), X_OK) == 0) return dir + name;
  return "";
}

// iptables' output of `-S FORWARD` ("" if it cannot be read).
std::string iptables_forward_rules(const std::string& ipt) {
  std::string name = ipt.substr(ipt.rfind('/') + 1);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return "";
  UniqueFd rd(p[0]), wr(p[1]);
  UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  pid_t pid = spawn_process({ipt, "-w", "-S", "FORWARD"}, {-1, wr.get(), devnull.get()});
  wr.reset();
  std::string out = fs::read_all(rd.get(), name + " -S FORWARD");
  return wait_process(pid) == 0 ? out : "";
}

std::vector<std::vector<std::string>> forward_rules(const std::string& bridge) {
  return {{"FORWARD", "-i", bridge, "-j", "ACCEPT", "-m", "comment", "--comment", "berth"},
          {"FORWARD", "-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "ACCEPT", "-m",
           "comment", "--comment", "berth"}};
}

int iptables(const std::string& ipt, const std::string& op, const std::vector<std::string>& rule) {
  std::vector<std::string> argv{ipt, "-w", op};
  argv.insert(argv.end(), rule.begin(), rule.end());
  UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  return run_process(argv, {-1, devnull.get(), devnull.get()});
}

}  // namespace

Firewall::Firewall(Nftables& nft) : nft_(nft) {
  // `add table` + the definitions: nft merges into an existing table, but
  // chains would get their rules a second time: made only when missing.
  if (!nft_.try_run("list table inet berth")) nft_.run(kTable, "make table inet berth");
}

void Firewall::add_network(const BridgeNetwork& n) {
  std::string b = quoted(n.bridge);
  std::string cmds = "add element inet berth bridges { " + b + " }\n" + "add element inet berth same_bridge { " + b +
                     " . " + b + " }\n";
  if (n.internal) {
    cmds += "add element inet berth internal { " + b + " }\n";
  } else {
    cmds += "add element inet berth masq_subnets { " + n.subnet + " }\n";
    if (!n.subnet6.empty()) cmds += "add element inet berth masq_subnets6 { " + n.subnet6 + " }\n";
  }
  nft_.run(cmds, "add the rules of network " + n.name);
}

void Firewall::remove_network(const BridgeNetwork& n) {
  std::string b = quoted(n.bridge);
  // One at a time: a delete of an element that is not there fails the
  // whole transaction.
  nft_.try_run("delete element inet berth bridges { " + b + " }");
  nft_.try_run("delete element inet berth same_bridge { " + b + " . " + b + " }");
  nft_.try_run("delete element inet berth internal { " + b + " }");
  nft_.try_run("delete element inet berth masq_subnets { " + n.subnet + " }");
  if (!n.subnet6.empty()) nft_.try_run("delete element inet berth masq_subnets6 { " + n.subnet6 + " }");
}

void Firewall::add_port(const PortForward& p) {
  // One transaction: both families or neither.
  std::string cmds;
  for (bool v6 : {false, true})
    if (auto e = port_element(p, v6, true); !e.empty()) cmds += "add element " + e + "\n";
  if (cmds.empty()) return;
  nft_.run(cmds, "publish " + (p.host_ip.empty() ? "" : p.host_ip + ":") + std::to_string(p.host_port) + "/" + p.proto);
}

void Firewall::remove_port(const PortForward& p) {
  for (bool v6 : {false, true})
    if (auto e = port_element(p, v6, false); !e.empty()) nft_.try_run("delete element " + e);
}

bool Firewall::drop_table_if_unused() {
  std::string out = nft_.run("list set inet berth bridges", "list the bridges of table inet berth");
  if (out.find("elements") != std::string::npos) return false;
  nft_.run("delete table inet berth", "delete table inet berth");
  return true;
}

void Firewall::forward_allow(const std::string& bridge) {
  // iptables for IPv4, ip6tables for IPv6: two tables, each may drop.
  for (const char* name : {"iptables", "ip6tables"}) {
    std::string ipt = iptables_path(name);
    if (ipt.empty()) continue;
    std::string rules = iptables_forward_rules(ipt);
    // Nothing there but "-P FORWARD ACCEPT": nothing would drop our packets.
    if (rules.empty() || rules == "-P FORWARD ACCEPT\n") continue;
    for (auto& r : forward_rules(bridge))
      if (iptables(ipt, "-C", r) != 0 && iptables(ipt, "-I", r) != 0)
        throw Error(std::string(name) + " -I FORWARD for bridge " + bridge + " failed");
  }
}

void Firewall::forward_unallow(const std::string& bridge) {
  for (const char* name : {"iptables", "ip6tables"}) {
    std::string ipt = iptables_path(name);
    if (ipt.empty() || iptables_forward_rules(ipt).find("berth") == std::string::npos) continue;
    for (auto& r : forward_rules(bridge))
      for (int i = 0; i < 8 && iptables(ipt, "-C", r) == 0; ++i) iptables(ipt, "-D", r);
  }
}

namespace {

struct ForwardChain {
  std::string family, table, name;
};

// The forward base chains of other tables that may drop a packet.
std::vector<ForwardChain> dropping_forward_chains(Nftables& nft) {
  using nlohmann::json;
  std::vector<ForwardChain> out;
  json all = json::parse(nft.run_json("list ruleset", "list the nftables ruleset"), nullptr, false);
  if (all.is_discarded() || !all.contains("nftables")) return out;
  std::vector<std::pair<ForwardChain, bool>> dropping;
  for (const auto& item : all["nftables"]) {
    if (item.contains("chain")) {
      const auto& c = item["chain"];
      if (c.value("hook", "") != "forward") continue;
      ForwardChain fc{c.value("family", ""), c.value("table", ""), c.value("name", "")};
      if (fc.table == "berth" || fc.name == "FORWARD") continue;  // ours; iptables'
      if (fc.family != "inet" && fc.family != "ip" && fc.family != "ip6") continue;
      dropping.push_back({fc, c.value("policy", "accept") == "drop"});
    } else if (item.contains("rule")) {
      const auto& r = item["rule"];
      std::string text = r.dump();
      // A drop or reject verdict anywhere in the rule's expressions.
      if (text.find("\"drop\"") == std::string::npos && text.find("\"reject\"") == std::string::npos) continue;
      for (auto& [c, drops] : dropping)
        if (c.family == r.value("family", "") && c.table == r.value("table", "") && c.name == r.value("chain", ""))
          drops = true;
    }
  }
  for (const auto& [c, drops] : dropping)
    if (drops) out.push_back(c);
  return out;
}

// nft takes table and chain names bare (a quoted one is a syntax error).
std::string chain_ref(const ForwardChain& c) { return c.family + " " + c.table + " " + c.name; }

}  // namespace

void Firewall::foreign_forward_allow(const std::string& bridge) {
  std::string b = quoted(bridge), comment = quoted("berth " + bridge);
  for (const auto& c : dropping_forward_chains(nft_)) {
    // `insert` puts a rule first: the second insert ends up above the first.
    nft_.run("insert rule " + chain_ref(c) + " oifname " + b + " ct state established,related accept comment " + comment +
                 "\n" + "insert rule " + chain_ref(c) + " oifname " + b + " ct status dnat accept comment " + comment +
                 "\n" + "insert rule " + chain_ref(c) + " iifname " + b + " accept comment " + comment + "\n",
             "accept bridge " + bridge + " in the forward chain of table " + c.family + " " + c.table);
  }
}

void Firewall::foreign_forward_unallow(const std::string& bridge) {
  using nlohmann::json;
  std::string comment = "berth " + bridge;
  json all = json::parse(nft_.run_json("list ruleset", "list the nftables ruleset"), nullptr, false);
  if (all.is_discarded() || !all.contains("nftables")) return;
  for (const auto& item : all["nftables"]) {
    if (!item.contains("rule")) continue;
    const auto& r = item["rule"];
    if (r.value("comment", "") != comment || r.value("table", "") == "berth") continue;
    nft_.try_run("delete rule " + r.value("family", "") + " " + r.value("table", "") + " " + r.value("chain", "") +
                 " handle " + std::to_string(r.value("handle", 0)));
  }
}

}  // namespace berth::net
