// The bridge driver: what berth-network does for the engine. Setup makes a
// container's endpoints (the bridge and its rules on first use, a veth
// pair into the container's netns, its address, route and published
// ports); teardown undoes them, and removes a bridge, its rules and at the
// end the whole table once no container is on it, so that `ip link` and
// `nft list ruleset` come back to what they were. Serialized by an flock on
// `lock_path`: a teardown that finds a bridge empty must not race a setup
// about to use it.
#pragma once

#include <string>
#include <vector>

#include "net/plan.hpp"

namespace berth::net {

// All or nothing: a failure undoes what this call made and throws.
void setup_endpoints(const std::string& lock_path, const std::string& netns, const std::vector<Endpoint>& eps);
// Best effort, never throws for what is already gone. `remove_netns`: the
// namespace file goes too. `networks`: bridges to remove if unused (a
// network rm), besides those of `eps`.
void teardown_endpoints(const std::string& lock_path, const std::string& netns, const std::vector<Endpoint>& eps,
                        bool remove_ns, const std::vector<BridgeNetwork>& networks = {});

}  // namespace berth::net
