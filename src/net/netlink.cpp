#include "net/netlink.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace berth::net {

namespace {

mnl_socket* open_socket() {
  mnl_socket* s = mnl_socket_open(NETLINK_ROUTE);
  if (!s) throw_errno("open a netlink socket");
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(s);
    throw_errno("bind a netlink socket", e);
  }
  return s;
}

nlmsghdr* header(std::vector<char>& buf, uint16_t type, uint16_t flags) {
  buf.assign(MNL_SOCKET_BUFFER_SIZE, 0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  return nlh;
}

ifinfomsg* put_ifinfo(nlmsghdr* nlh) {
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  return ifm;
}

}  // namespace

bool parse_mac(const std::string& text, unsigned char out[6]) {
  unsigned v[6];
  char tail;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
    return false;
  for (int i = 0; i < 6; ++i) out[i] = static_cast<unsigned char>(v[i]);
  return text.size() == 17;
}

Netlink::Netlink() : Netlink(open_socket()) {}
Netlink::Netlink(mnl_socket* s) : sock_(s), portid_(mnl_socket_get_portid(s)) {}
Netlink::Netlink(Netlink&& o) noexcept : sock_(o.sock_), portid_(o.portid_), seq_(o.seq_) { o.sock_ = nullptr; }
Netlink::~Netlink() {
  if (sock_) mnl_socket_close(sock_);
}

Netlink Netlink::open_in(int netns_fd) {
  // A socket belongs to the namespace of the thread that made it: a thread
  // of our own enters the namespace, opens it and ends; this one stays put.
  mnl_socket* s = nullptr;
  int err = 0;
  std::thread t([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      err = errno;
      return;
    }
    try {
      s = open_socket();
    } catch (const Error& e) {
      err = e.errno_value() ? e.errno_value() : EIO;
    }
  });
  t.join();
  if (!s) throw_errno("open a netlink socket in the container's network namespace", err);
  return Netlink(s);
}

int Netlink::request(nlmsghdr* nlh, int (*cb)(const nlmsghdr*, void*), void* data, bool dump) {
  // A dump ends with NLMSG_DONE; anything else with its ack.
  nlh->nlmsg_flags |= dump ? NLM_F_DUMP : NLM_F_ACK;
  nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) throw_errno("send a netlink request");
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
    if (n < 0) throw_errno("read a netlink answer");
    int r = mnl_cb_run(buf.data(), n, seq_, portid_, cb, data);
    if (r < 0) return errno;
    if (r == MNL_CB_STOP) return 0;
  }
}

std::optional<int> Netlink::ifindex(const std::string& name) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_GETLINK, 0);
  put_ifinfo(nlh);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  int index = 0;
  auto cb = [](const nlmsghdr* m, void* d) -> int {
    if (m->nlmsg_type == RTM_NEWLINK)
      *static_cast<int*>(d) = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m))->ifi_index;
    return MNL_CB_OK;
  };
  int e = request(nlh, cb, &index);
  if (e == ENODEV) return std::nullopt;
  if (e) throw_errno("look up link " + name, e);
  return index;
}

bool Netlink::ensure_bridge(const std::string& name) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg* ifm = put_ifinfo(nlh);
  ifm->ifi_flags = ifm->ifi_change = IFF_UP;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  int e = request(nlh);
  if (e == EEXIST) {
    // Not ours to enslave to, nor to delete later.
    if (std::string kind = link_kind(name); kind != "bridge")
      throw Error("link " + name + " exists and is not a bridge (" + (kind.empty() ? "no kind" : "a " + kind) +
                      "): remove it or pick another network",
                  ErrorKind::FailedPrecondition);
    set_up(*ifindex(name));
    return false;
  }
  if (e) throw_errno("create bridge " + name, e);
  return true;
}

void Netlink::create_veth(const std::string& host_name, int master, const std::string& peer_name, int peer_netns_fd,
                          const std::string& peer_mac) {
  unsigned char mac[6];
  if (!peer_mac.empty() && !parse_mac(peer_mac, mac)) fail("invalid MAC address \"" + peer_mac + "\"");
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg* ifm = put_ifinfo(nlh);
  ifm->ifi_flags = ifm->ifi_change = IFF_UP;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name.c_str());
  mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(master));
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  // The peer's own ifinfomsg comes first inside VETH_INFO_PEER.
  auto* pifm = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(nlh));
  std::memset(pifm, 0, sizeof *pifm);
  pifm->ifi_family = AF_UNSPEC;
  nlh->nlmsg_len += MNL_ALIGN(sizeof *pifm);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name.c_str());
  mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  if (!peer_mac.empty()) mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
  mnl_attr_nest_end(nlh, peer);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  if (int e = request(nlh)) throw_errno("create veth pair " + host_name + "/" + peer_name, e);
}

void Netlink::set_up(int index) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_NEWLINK, 0);
  ifinfomsg* ifm = put_ifinfo(nlh);
  ifm->ifi_index = index;
  ifm->ifi_flags = ifm->ifi_change = IFF_UP;
  if (int e = request(nlh)) throw_errno("set link " + std::to_string(index) + " up", e);
}

void Netlink::set_master(int index, int master) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_NEWLINK, 0);
  ifinfomsg* ifm = put_ifinfo(nlh);
  ifm->ifi_index = index;
  mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(master));
  if (int e = request(nlh)) throw_errno("enslave link " + std::to_string(index) + " to " + std::to_string(master), e);
}

void Netlink::add_address(int index, Ipv4 address, int prefix) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_index = static_cast<unsigned>(index);
  uint32_t a = htonl(address.value);
  uint32_t brd = htonl(address.value | (prefix == 0 ? ~0u : ~(~0u << (32 - prefix))));
  mnl_attr_put_u32(nlh, IFA_LOCAL, a);
  mnl_attr_put_u32(nlh, IFA_ADDRESS, a);
  if (prefix < 31) mnl_attr_put_u32(nlh, IFA_BROADCAST, brd);
  int e = request(nlh);
  if (e && e != EEXIST) throw_errno("add address " + to_string(address) + "/" + std::to_string(prefix), e);
}

void Netlink::add_default_route(Ipv4 gateway, int oif) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway.value));
  mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(oif));
  int e = request(nlh);
  if (e && e != EEXIST) throw_errno("add the default route via " + to_string(gateway), e);
}

void Netlink::add_address(int index, const Ipv6& address, int prefix) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET6;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa->ifa_index = static_cast<unsigned>(index);
  ifa->ifa_flags = IFA_F_NODAD;
  mnl_attr_put(nlh, IFA_LOCAL, 16, address.bytes.data());
  mnl_attr_put(nlh, IFA_ADDRESS, 16, address.bytes.data());
  mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  int e = request(nlh);
  if (e && e != EEXIST) throw_errno("add address " + to_string(address) + "/" + std::to_string(prefix), e);
}

void Netlink::add_default_route(const Ipv6& gateway, int oif) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET6;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put(nlh, RTA_GATEWAY, 16, gateway.bytes.data());
  mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(oif));
  int e = request(nlh);
  if (e && e != EEXIST) throw_errno("add the IPv6 default route via " + to_string(gateway), e);
}

bool Netlink::delete_link(const std::string& name) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_DELLINK, 0);
  put_ifinfo(nlh);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  int e = request(nlh);
  if (e == ENODEV) return false;
  if (e) throw_errno("delete link " + name, e);
  return true;
}

std::string Netlink::link_kind(const std::string& name) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_GETLINK, 0);
  put_ifinfo(nlh);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  std::string kind;
  auto cb = [](const nlmsghdr* m, void* d) -> int {
    if (m->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
    auto attr = [](const nlattr* a, void* d) -> int {
      if (mnl_attr_get_type(a) != IFLA_LINKINFO) return MNL_CB_OK;
      auto info = [](const nlattr* i, void* d) -> int {
        if (mnl_attr_get_type(i) == IFLA_INFO_KIND) *static_cast<std::string*>(d) = mnl_attr_get_str(i);
        return MNL_CB_OK;
      };
      mnl_attr_parse_nested(a, info, d);
      return MNL_CB_OK;
    };
    mnl_attr_parse(m, sizeof(ifinfomsg), attr, d);
    return MNL_CB_OK;
  };
  int e = request(nlh, cb, &kind);
  if (e == ENODEV) return "";
  if (e) throw_errno("look up link " + name, e);
  return kind;
}

bool Netlink::has_ports(int master) {
  std::vector<char> buf;
  nlmsghdr* nlh = header(buf, RTM_GETLINK, 0);
  put_ifinfo(nlh);
  struct Search {
    int master;
    bool found = false;
  } s{master};
  auto cb = [](const nlmsghdr* m, void* d) -> int {
    auto attr = [](const nlattr* a, void* d) -> int {
      auto* s = static_cast<Search*>(d);
      if (mnl_attr_get_type(a) == IFLA_MASTER && static_cast<int>(mnl_attr_get_u32(a)) == s->master) s->found = true;
      return MNL_CB_OK;
    };
    mnl_attr_parse(m, sizeof(ifinfomsg), attr, d);
    return MNL_CB_OK;
  };
  if (int e = request(nlh, cb, &s, true)) throw_errno("list links", e);
  return s.found;
}

}  // namespace berth::net
