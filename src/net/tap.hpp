// A micro-VM's tap on a bridge network (`berth vm run --net NETWORK`).
// The tap is persistent: it outlives the helper that makes it, so the VMM
// (which knows nothing of networks) attaches to it by name, and it stays
// a port of the bridge (the bridge is then "in use", as with a container's
// veth) until the engine deletes it when the VM ends or is removed.
#pragma once

#include <string>

namespace berth::net {

// A persistent tap `name` (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, as the
// VMM's virtio-net attaches), owned by this process's user.
void create_persistent_tap(const std::string& name);

}  // namespace berth::net
