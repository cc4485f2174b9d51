// `berth serve`: the Docker Engine API (src/api/) on unix sockets or
// loopback tcp, over the same engine and records as the other verbs.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>

#include "api/server.hpp"
#include "cli/command_registry.hpp"
#include "common/log.hpp"

namespace berth::cli {
namespace {

const bool registered = add_commands({"serve"}, [](CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("serve", "Serve the Docker Engine API (docker CLI and SDKs: DOCKER_HOST=unix://...)");
  auto hosts = std::make_shared<std::vector<std::string>>();
  auto group = std::make_shared<std::string>();
  auto max_conn = std::make_shared<int>(512);
  c->add_option("-H,--host", *hosts,
                "where to listen: unix:///PATH (default unix:///run/berth/berth.sock), tcp://127.0.0.1:PORT, "
                "fd:// (systemd socket activation); repeatable");
  c->add_option("-G,--group", *group, "group that may use the unix sockets (mode 0660; default root only)");
  c->add_option("--max-connections", *max_conn, "connections served at once (others get 503)");
  c->callback([&g, hosts, group, max_conn] {
    api::ServeOptions o;
    o.root = g.root;
    o.state = g.state;
    o.hosts = *hosts;
    if (o.hosts.empty() && !std::getenv("LISTEN_FDS")) o.hosts.push_back("unix:///run/berth/berth.sock");
    o.socket_group = *group;
    o.max_connections = *max_conn;
    o.version = BERTH_VERSION;
    log::configure("berth serve", "", log::Format::Text, log::Level::Info);
    api::Server server(o);
    server.run();
    // Threads may still be streaming to clients: end here rather than run
    // static destructors under them. Containers live on in their monitors.
    std::fflush(nullptr);
    ::_exit(0);
  });
});

}  // namespace
}  // namespace berth::cli
