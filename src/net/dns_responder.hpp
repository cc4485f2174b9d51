// A user network's name responder (docker's embedded DNS, as a process):
// UDP and TCP on the network's gateway address, port 53. It answers names from
// `hosts_path` (lines "IP NAME ALIAS...", rewritten by the engine as
// containers come and go; read again when it changes) and forwards any
// other query to the host's resolvers. Owned by the network, not by a CLI:
// the berth-network helper starts it (daemonized, setsid) when it makes the
// network's bridge, and ends it when it removes the bridge (the last
// container left); its pid is in `<dir>/dns-<bridge>.pid`.
#pragma once

#include <string>
#include <vector>

namespace berth::net {

// Serves until killed.
[[noreturn]] void run_dns_responder(const std::string& listen_ip, const std::string& hosts_path);

// Starts the responder of `bridge` unless it runs; `exe` is berth-network.
void ensure_dns_responder(const std::string& exe, const std::string& pid_dir, const std::string& bridge,
                          const std::string& listen_ip, const std::string& hosts_path);
void stop_dns_responder(const std::string& pid_dir, const std::string& bridge);

}  // namespace berth::net
