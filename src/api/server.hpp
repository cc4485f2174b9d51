// `berth serve`: the Docker Engine API over the same engine the CLI drives.
//
// One thread per connection, each with its own ContainerEngine (its own
// SQLite connections), like one `berth` command per client: a slow or
// vanished client holds only its own thread, and the engine's records are
// shared through the database and the monitors' files as between CLIs.
// The containers belong to their monitors, so serve can be stopped and
// restarted at any time while they run.
//
// What lives only in the server: exec instances (docker's exec IDs, which
// last until the server ends, as dockerd's until it restarts) and attach
// requests made before a start (`docker run` attaches, then starts).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/attach_broker.hpp"
#include "api/exec_registry.hpp"
#include "api/router.hpp"
#include "api/tls.hpp"

namespace berth::engine {
class ContainerEngine;
}

namespace berth::api {

// API versions served: the docker CLI negotiates down to kApiVersion from
// the Api-Version header of /_ping.
inline constexpr const char* kApiVersion = "1.43";
inline constexpr const char* kMinApiVersion = "1.24";

struct ServeOptions {
  std::string root, state;
  // unix:///path, tcp://127.0.0.1:PORT, fd:// (systemd socket activation)
  std::vector<std::string> hosts;
  std::string socket_group;  // "" : root only (0660 root:root)
  int max_connections = 512;
  std::string version = "0.0.0";
  // On the tcp listeners (unix sockets stay plain, as dockerd's).
  TlsOptions tls;
};

class Server {
 public:
  explicit Server(ServeOptions o);
  ~Server();
  // Listens on every host, then serves until SIGTERM/SIGINT.
  void run();

  const ServeOptions& options() const { return o_; }
  const Router& router() const { return router_; }
  AttachBroker& attaches() { return attaches_; }
  ExecRegistry& execs() { return execs_; }
  // Engines of finished connections, kept for the next ones: opening one
  // (its SQLite connections) costs ~10 ms here, and the docker CLI opens
  // a few connections per command.
  std::unique_ptr<engine::ContainerEngine> take_engine();
  void return_engine(std::unique_ptr<engine::ContainerEngine> e);

 private:
  // tls: a tcp listener's connection when TLS is on (tls_ is set).
  void serve_connection(int fd, bool tls);
  ServeOptions o_;
  Router router_;
  AttachBroker attaches_;
  ExecRegistry execs_;
  std::unique_ptr<TlsContext> tls_;
  std::atomic<int> connections_{0};
  std::mutex idle_m_;
  std::vector<std::unique_ptr<engine::ContainerEngine>> idle_engines_;
};

}  // namespace berth::api
