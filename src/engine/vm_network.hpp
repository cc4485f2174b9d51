// A micro-VM on a bridge network (`berth vm run --net NETWORK`): the VM's
// tap joins the network's bridge, beside the containers' veths, and its
// address is a lease of the network's IPAM (table leases, owner
// "vm:NAME"), so a VM and a container on one network reach each other.
//
// Lifetimes: the lease is taken at `vm run` and released at `vm rm` (as a
// container's at create and rm); the tap is made at `vm run` and deleted
// when the VM ends (a foreground CLI, `vm stop`) or, when nobody saw it end
// (a detached VM that powered off, a VMM killed with -9), by the next
// command that reads the VM's record (VmManager::reconcile).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/sqlite.hpp"

namespace berth::engine {

// What the guest is given, recorded in the VM's config as "network".
struct VmNetwork {
  std::string network, network_id;  // the network's name and id
  std::string address, gateway;     // gateway "" on an --internal network (no way out)
  int prefix = 0;
  std::string mac;                  // of the guest's virtio-net
  std::string tap, bridge;
  std::string dns;                  // a user network's name responder ("" on the default bridge)
};

nlohmann::json to_json(const VmNetwork& n);

class VmNetworks {
 public:
  VmNetworks(Database& db, std::string root, std::string state);

  // Leases an address of network `ref` for VM `vm` and makes its tap on
  // the network's bridge (the bridge too, if no container made it yet).
  // `mac` "": 02:42 + the address, as a container's. All or nothing.
  // `address` "": the lowest free one (else that one, or AlreadyExists).
  VmNetwork attach(const std::string& vm, const std::string& ref, const std::string& mac,
                   const std::string& address = "");
  // The network of this root whose subnet holds `address`, or "".
  std::string network_holding(const std::string& address);
  // The VM's tap goes (if it is there), and its bridge with it if nothing
  // else is on it; with `release`, its lease too. Never throws for what is
  // already gone.
  void detach(const std::string& vm, bool release);
  // Whether VM `vm` of this root has a tap now (one ioctl: cheap enough
  // for every `vm ls`).
  bool has_tap(const std::string& vm) const;
  // vt + 10 hex digits of FNV-1a(root, name): unique per root and name, at
  // most 15 bytes (IFNAMSIZ), recomputable from the record alone.
  std::string tap_name(const std::string& vm) const;

  // The name lines ("ADDR NAME") of the VMs running on network
  // `network_id`, for its responder's names file: the engine rewrites that
  // file whole from container records and adds these.
  std::string dns_lines(const std::string& network_id);

  // Linux's `ip=` option (Documentation/admin-guide/nfs/nfsroot.rst):
  // ip=ADDR::GATEWAY:NETMASK:HOSTNAME:eth0:off[:DNS], which a Linux guest
  // applies as is and tests/guests/net_responder.c parses.
  static std::string kernel_ip_arg(const VmNetwork& n, const std::string& hostname);

  static std::string lease_owner(const std::string& vm) { return "vm:" + vm; }
  // Whether `tap` has the shape of tap_name(): a VM that was on a network.
  static bool is_network_tap(const std::string& tap);
  // The address of the last ip= option of a kernel command line, or "".
  static std::string address_in_cmdline(const std::string& cmdline);

 private:
  // Adds (or removes) VM `vm`'s line in the names file of user network
  // `n`, so containers resolve the VM by name.
  void publish_name(const std::string& network_id, const std::string& network_name, const std::string& vm,
                    const std::string& address, bool add);
  void undo_attach(const std::string& vm);
  Database& db_;
  std::string root_, state_;
};

}  // namespace berth::engine
