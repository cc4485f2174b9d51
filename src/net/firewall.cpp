#include "net/firewall.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/subprocess.hpp"
#include "net/ip_address.hpp"

namespace berth::net {

namespace {

const char* kTable = R"(table ip berth {
  set bridges { type ifname; }
  set internal { type ifname; }
  set same_bridge { type ifname . ifname; }
  set masq_subnets { type ipv4_addr; flags interval; }
  map publish_tcp { type inet_service : ipv4_addr . inet_service; }
  map publish_udp { type inet_service : ipv4_addr . inet_service; }
  map publish_ip_tcp { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
  map publish_ip_udp { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
  chain publish {
    dnat ip to ip daddr . tcp dport map @publish_ip_tcp
    dnat ip to ip daddr . udp dport map @publish_ip_udp
    dnat ip to tcp dport map @publish_tcp
    dnat ip to udp dport map @publish_udp
  }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; fib daddr type local jump publish; }
  chain output { type nat hook output priority -100; policy accept; fib daddr type local jump publish; }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname @bridges ip saddr 127.0.0.0/8 masquerade
    ct status dnat oifname @bridges ip saddr @masq_subnets masquerade
    ip saddr @masq_subnets oifname != @bridges masquerade
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

std::string port_element(const PortForward& p) {
  bool any = p.host_ip.empty() || p.host_ip == "0.0.0.0";
  std::string map = std::string(any ? "publish_" : "publish_ip_") + p.proto;
  std::string key = any ? std::to_string(p.host_port) : p.host_ip + " . " + std::to_string(p.host_port);
  return "ip berth " + map + " { " + key + " : " + p.container_ip + " . " + std::to_string(p.container_port) + " }";
}

std::string port_key(const PortForward& p) {
  bool any = p.host_ip.empty() || p.host_ip == "0.0.0.0";
  std::string map = std::string(any ? "publish_" : "publish_ip_") + p.proto;
  std::string key = any ? std::to_string(p.host_port) : p.host_ip + " . " + std::to_string(p.host_port);
  return "ip berth " + map + " { " + key + " }";
}

std::string iptables_path() {
  for (const char* p : {"/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

// iptables' output of `-S FORWARD` ("" if it cannot be read).
std::string iptables_forward_rules(const std::string& ipt) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return "";
  UniqueFd rd(p[0]), wr(p[1]);
  UniqueFd devnull(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  pid_t pid = spawn_process({ipt, "-w", "-S", "FORWARD"}, {-1, wr.get(), devnull.get()});
  wr.reset();
  std::string out = fs::read_all(rd.get(), "iptables -S FORWARD");
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
  if (!nft_.try_run("list table ip berth")) nft_.run(kTable, "make table ip berth");
}

void Firewall::add_network(const BridgeNetwork& n) {
  std::string b = quoted(n.bridge);
  std::string cmds = "add element ip berth bridges { " + b + " }\n" + "add element ip berth same_bridge { " + b +
                     " . " + b + " }\n";
  if (n.internal)
    cmds += "add element ip berth internal { " + b + " }\n";
  else
    cmds += "add element ip berth masq_subnets { " + n.subnet + " }\n";
  nft_.run(cmds, "add the rules of network " + n.name);
}

void Firewall::remove_network(const BridgeNetwork& n) {
  std::string b = quoted(n.bridge);
  // One at a time: a delete of an element that is not there fails the
  // whole transaction.
  nft_.try_run("delete element ip berth bridges { " + b + " }");
  nft_.try_run("delete element ip berth same_bridge { " + b + " . " + b + " }");
  nft_.try_run("delete element ip berth internal { " + b + " }");
  nft_.try_run("delete element ip berth masq_subnets { " + n.subnet + " }");
}

void Firewall::add_port(const PortForward& p) {
  nft_.run("add element " + port_element(p),
           "publish " + (p.host_ip.empty() ? "" : p.host_ip + ":") + std::to_string(p.host_port) + "/" + p.proto);
}

void Firewall::remove_port(const PortForward& p) { nft_.try_run("delete element " + port_key(p)); }

bool Firewall::drop_table_if_unused() {
  std::string out = nft_.run("list set ip berth bridges", "list the bridges of table ip berth");
  if (out.find("elements") != std::string::npos) return false;
  nft_.run("delete table ip berth", "delete table ip berth");
  return true;
}

void Firewall::forward_allow(const std::string& bridge) {
  std::string ipt = iptables_path();
  if (ipt.empty()) return;
  std::string rules = iptables_forward_rules(ipt);
  // Nothing there but "-P FORWARD ACCEPT": nothing would drop our packets.
  if (rules.empty() || rules == "-P FORWARD ACCEPT\n") return;
  for (auto& r : forward_rules(bridge))
    if (iptables(ipt, "-C", r) != 0 && iptables(ipt, "-I", r) != 0)
      throw Error("iptables -I FORWARD for bridge " + bridge + " failed");
}

void Firewall::forward_unallow(const std::string& bridge) {
  std::string ipt = iptables_path();
  if (ipt.empty() || iptables_forward_rules(ipt).find("berth") == std::string::npos) return;
  for (auto& r : forward_rules(bridge))
    for (int i = 0; i < 8 && iptables(ipt, "-C", r) == 0; ++i) iptables(ipt, "-D", r);
}

}  // namespace berth::net
