// berth-network: the engine's network helper, as netavark is Podman's.
// `berth` links statically and starts in a millisecond; libnftables (with
// its own dependencies) has no static archive in Debian, so the kernel
// work of networking lives in this small dynamically linked program that
// the engine runs at a container's start and stop (net/bridge_driver.hpp).
//
//   berth-network setup|teardown < {"lock":..., "netns":..., "endpoints":[...],
//                                   "removeNetns":bool, "networks":[...]}
//   berth-network dns GATEWAY HOSTS_FILE BRIDGE   (a network's name responder,
//                                   started by setup: net/dns_responder.hpp)
//
// Errors: one line on stderr, exit 1.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"
#include "net/bridge_driver.hpp"
#include "net/dns_responder.hpp"

using nlohmann::json;

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "dns" && argc >= 4) berth::net::run_dns_responder(argv[2], argv[3]);
    if (cmd != "setup" && cmd != "teardown") throw berth::Error("usage: berth-network setup|teardown < request.json");
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    json req = json::parse(text, nullptr, false);
    if (req.is_discarded() || !req.is_object()) throw berth::Error("the request on stdin is not a JSON object");
    auto eps = req.value("endpoints", std::vector<berth::net::Endpoint>{});
    std::string lock = req.value("lock", "");
    std::string netns = req.value("netns", "");
    if (lock.empty()) throw berth::Error("the request names no lock file");
    if (cmd == "setup")
      berth::net::setup_endpoints(lock, netns, eps);
    else
      berth::net::teardown_endpoints(lock, netns, eps, req.value("removeNetns", false),
                                     req.value("networks", std::vector<berth::net::BridgeNetwork>{}));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
