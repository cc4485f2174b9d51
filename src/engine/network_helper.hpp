// Runs the berth-network helper (src/cli/network_main.cpp) beside this
// executable: `verb` is setup or teardown, `request` its JSON. Containers
// (container_network.cpp) and VMs (vm_network.hpp) both go through it.
#pragma once

#include <string>

namespace berth::engine {

// Throws the helper's last line of errors (FailedPrecondition) if it fails.
void run_network_helper(const std::string& verb, const std::string& request);

}  // namespace berth::engine
