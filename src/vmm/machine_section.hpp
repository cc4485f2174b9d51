// The "machine" section of a snapshot or a migration stream: what the VM
// is made of (CPUs, RAM, disks, tap, channel, the kernel it booted) and
// what it was called, so that whoever restores or receives it builds the
// same machine, bound to this host.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "vmm/machine.hpp"

namespace berth::vmm {

// The tap `--net tap` makes for a VM: bt-NAME, cut to IFNAMSIZ - 1.
std::string auto_tap_name(const std::string& vm_name);

nlohmann::json machine_section(const VmConfig& cfg, const GuestMemory& mem, const std::string& name);

struct MachineSection {
  std::string name;  // the VM's name where it was taken
  VmConfig vm;
};
// Corrupt, naming `what` ("snapshot D"), if a field is missing or of the
// wrong type.
MachineSection parse_machine_section(const nlohmann::json& m, const std::string& what);
// For the VM that carries on as `name`, with its sockets in `state_dir`:
// what was derived from the old name follows the new one (the tap of
// `--net tap`, a default `--channel unix` socket); names the user gave stay.
void rebind(MachineSection& m, const std::string& name, const std::string& state_dir);
// The VM's record config (as `berth vm inspect` shows it) for a machine
// that was restored or received rather than booted from options.
nlohmann::json record_config(const MachineSection& m);

}  // namespace berth::vmm
