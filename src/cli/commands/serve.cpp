// `berth serve`: the Docker Engine API (src/api/) on unix sockets or
// tcp (loopback, or anywhere with TLS client certificates), over the same engine and records as the other verbs.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>

#include "api/server.hpp"
#include "cli/command_registry.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace berth::cli {
namespace {

const bool registered = add_commands({"serve"}, [](CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("serve", "Serve the Docker Engine API (docker CLI and SDKs: DOCKER_HOST=unix://...)");
  auto hosts = std::make_shared<std::vector<std::string>>();
  auto group = std::make_shared<std::string>();
  auto max_conn = std::make_shared<int>(512);
  c->add_option("-H,--host", *hosts,
                "where to listen: unix:///PATH (default unix:///run/berth/berth.sock), tcp://HOST:PORT ([::1]:PORT; off "
                "loopback only with --tlsverify), "
                "fd:// (systemd socket activation); repeatable");
  c->add_option("-G,--group", *group, "group that may use the unix sockets (mode 0660; default root only)");
  c->add_option("--max-connections", *max_conn, "connections served at once (others get 503)");
  auto tls = std::make_shared<api::TlsOptions>();
  c->add_flag("--tls", tls->tls, "serve TLS on the tcp listeners (--tlscert, --tlskey)");
  c->add_flag("--tlsverify", tls->verify,
              "serve TLS and require client certificates signed by --tlscacert (needed for tcp off loopback)");
  c->add_option("--tlscacert", tls->ca, "CA that signs the client certificates (PEM)");
  c->add_option("--tlscert", tls->cert, "the server's certificate (PEM, may carry its chain)");
  c->add_option("--tlskey", tls->key, "the server's private key (PEM)");
  c->callback([&g, hosts, group, max_conn, tls] {
    if (!tls->enabled() && (!tls->ca.empty() || !tls->cert.empty() || !tls->key.empty()))
      fail("--tlscacert/--tlscert/--tlskey given without --tls or --tlsverify");
    api::ServeOptions o;
    o.root = g.root;
    o.state = g.state;
    o.hosts = *hosts;
    if (o.hosts.empty() && !std::getenv("LISTEN_FDS")) o.hosts.push_back("unix:///run/berth/berth.sock");
    o.socket_group = *group;
    o.max_connections = *max_conn;
    o.version = BERTH_VERSION;
    o.tls = *tls;
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
