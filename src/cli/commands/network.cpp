// `berth network create/ls/inspect/rm/connect/disconnect/prune` and `berth
// port`: bridge networks (engine/networks.hpp, docs/networking.md).
#include <CLI/CLI.hpp>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command_registry.hpp"
#include "cli/commands/output.hpp"
#include "common/error.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"

namespace berth::cli {
namespace {

using nlohmann::json;

std::map<std::string, std::string> parse_labels(const std::vector<std::string>& in) {
  std::map<std::string, std::string> l;
  for (auto& kv : in) {
    auto eq = kv.find('=');
    l[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  return l;
}

// host and none as docker lists them: network modes, not stored.
json pseudo_network(const std::string& name) {
  return json{{"Name", name},           {"Id", name},          {"Created", ""},       {"Scope", "local"},
              {"Driver", name == "none" ? "null" : name},     {"EnableIPv6", false}, {"Internal", false},
              {"IPAM", {{"Driver", "default"}, {"Options", json::object()}, {"Config", json::array()}}},
              {"Attachable", false},    {"Ingress", false},    {"ConfigFrom", {{"Network", ""}}},
              {"ConfigOnly", false},    {"Containers", json::object()}, {"Options", json::object()},
              {"Labels", json::object()}};
}

void add_network_commands(CLI::App& app, Globals& g) {
  auto* net = app.add_subcommand("network", "Manage networks");
  net->require_subcommand(1);
  {
    auto* c = net->add_subcommand("create", "Create a network");
    auto r = std::make_shared<engine::NetworkCreateRequest>();
    auto labels = std::make_shared<std::vector<std::string>>();
    auto driver = std::make_shared<std::string>("bridge");
    c->add_option("name", r->name, "network name")->required();
    // docker's --subnet/--gateway: once per family (an IPv4 and, with
    // --ipv6, an IPv6 one); the engine sorts them by family.
    auto subnets = std::make_shared<std::vector<std::string>>();
    auto gateways = std::make_shared<std::vector<std::string>>();
    c->add_option("--subnet", *subnets, "Subnet in CIDR format that represents a network segment")->allow_extra_args(false);
    c->add_option("--gateway", *gateways, "IPv4 or IPv6 Gateway for the master subnet")->allow_extra_args(false);
    c->add_flag("--internal", r->internal, "Restrict external access to the network");
    c->add_flag("--ipv6", r->ipv6, "Enable IPv6 networking");
    c->add_option("--label", *labels, "Set metadata on a network")->allow_extra_args(false);
    c->add_option("-d,--driver", *driver, "Driver to manage the Network")->capture_default_str();
    c->callback([=, &g] {
      if (*driver != "bridge") throw Error("network create: driver " + *driver + " is not supported (only bridge)", ErrorKind::Unsupported);
      r->labels = parse_labels(*labels);
      auto sort = [](const std::vector<std::string>& v, std::string& v4, std::string& v6, const char* flag) {
        for (const auto& x : v) {
          std::string& slot = x.find(':') != std::string::npos ? v6 : v4;
          if (!slot.empty()) fail(std::string("network create: ") + flag + " " + slot + " and " + x + ": one per address family");
          slot = x;
        }
      };
      sort(*subnets, r->subnet, r->subnet6, "--subnet");
      sort(*gateways, r->gateway, r->gateway6, "--gateway");
      engine::ContainerEngine eng(g.root, g.state);
      std::cout << eng.network_create(*r).id << "\n";
    });
  }
  {
    auto* c = net->add_subcommand("ls", "List networks");
    c->alias("list");
    auto quiet = std::make_shared<bool>(false), no_trunc = std::make_shared<bool>(false);
    auto format = std::make_shared<std::string>();
    auto filters = std::make_shared<std::vector<std::string>>();
    c->add_flag("-q,--quiet", *quiet, "Only display network IDs");
    c->add_flag("--no-trunc", *no_trunc, "Do not truncate the output");
    c->add_option("--format", *format, "Format output using a custom template");
    c->add_option("-f,--filter", *filters, "Provide filter values (name=, id=, driver=, label=)");
    c->callback([=, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      std::vector<json> rows;
      std::vector<json> all;
      for (const auto& n : eng.networks().list()) all.push_back(engine::network_view(n, {}));
      all.push_back(pseudo_network("host"));
      all.push_back(pseudo_network("none"));
      for (auto& n : all) {
        bool keep = true;
        for (auto& f : *filters) {
          auto eq = f.find('=');
          std::string k = f.substr(0, eq), v = eq == std::string::npos ? "" : f.substr(eq + 1);
          if (k == "name") keep = keep && n["Name"].get<std::string>().find(v) != std::string::npos;
          else if (k == "id") keep = keep && n["Id"].get<std::string>().rfind(v, 0) == 0;
          else if (k == "driver") keep = keep && n["Driver"] == v;
          else if (k == "label") keep = keep && n["Labels"].contains(v.substr(0, v.find('=')));
          else throw Error("invalid filter '" + k + "'", ErrorKind::InvalidArgument);
        }
        if (!keep) continue;
        std::string id = n["Id"];
        std::string shown = *no_trunc || id.size() < 12 ? id : id.substr(0, 12);
        if (*quiet) {
          std::cout << shown << "\n";
          continue;
        }
        rows.push_back({{"ID", shown}, {"Name", n["Name"]}, {"Driver", n["Driver"]}, {"Scope", "local"},
                        {"IPv6", "false"}, {"Internal", n["Internal"].get<bool>() ? "true" : "false"},
                        {"CreatedAt", n["Created"]}, {"Labels", ""}});
      }
      if (*quiet) return;
      std::cout << format_rows(*format, rows,
                               {"table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                                {{"ID", "NETWORK ID"}, {"Name", "NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
                                 {"IPv6", "IPV6"}, {"Internal", "INTERNAL"}, {"CreatedAt", "CREATED"}}});
    });
  }
  {
    auto* c = net->add_subcommand("inspect", "Display detailed information on one or more networks");
    auto names = std::make_shared<std::vector<std::string>>();
    auto format = std::make_shared<std::string>();
    c->add_option("-f,--format", *format, "Format output using a custom template");
    c->add_option("networks", *names, "networks")->required();
    c->callback([=, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      std::vector<json> objs;
      for (auto& n : *names) {
        if (n == "host" || n == "none") {
          objs.push_back(pseudo_network(n));
          continue;
        }
        engine::Network net = eng.networks().get(n);
        objs.push_back(engine::network_view(net, eng.network_containers(net)));
      }
      std::cout << format_objects(*format, objs);
    });
  }
  {
    auto* c = net->add_subcommand("rm", "Remove one or more networks");
    c->alias("remove");
    auto names = std::make_shared<std::vector<std::string>>();
    c->add_option("networks", *names, "networks")->required();
    c->callback([=, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      int failed = 0;
      for (auto& n : *names) {
        try {
          eng.network_remove(n);
          std::cout << n << "\n";
        } catch (const Error& e) {
          std::cerr << "Error response from daemon: " << e.what() << "\n";
          failed = 1;
        }
      }
      if (failed) throw ExitStatus{1, ""};
    });
  }
  {
    auto* c = net->add_subcommand("prune", "Remove all unused networks");
    auto force = std::make_shared<bool>(false);
    c->add_flag("-f,--force", *force, "Do not prompt for confirmation");
    c->callback([=, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      auto removed = eng.network_prune();
      if (removed.empty()) return;
      std::cout << "Deleted Networks:\n";
      for (auto& n : removed) std::cout << n << "\n";
    });
  }
  {
    auto* c = net->add_subcommand("connect", "Connect a container to a network");
    auto network = std::make_shared<std::string>(), container = std::make_shared<std::string>();
    auto r = std::make_shared<engine::EndpointRequest>();
    c->add_option("network", *network, "network")->required();
    c->add_option("container", *container, "container")->required();
    c->add_option("--ip", r->ip, "IPv4 address (e.g., 172.30.100.104)");
    c->add_option("--ip6", r->ip6, "IPv6 address (e.g., 2001:db8::33)");
    c->add_option("--alias", r->aliases, "Add network-scoped alias for the container");
    c->callback([=, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      eng.network_connect(*network, *container, *r);
    });
  }
  {
    auto* c = net->add_subcommand("disconnect", "Disconnect a container from a network");
    auto network = std::make_shared<std::string>(), container = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    c->add_option("network", *network, "network")->required();
    c->add_option("container", *container, "container")->required();
    c->add_flag("-f,--force", *force, "Force the container to disconnect from a network");
    c->callback([=, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      eng.network_disconnect(*network, *container, *force);
    });
  }
}

void add_port_command(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("port", "List port mappings or a specific mapping for the container");
  auto container = std::make_shared<std::string>(), port = std::make_shared<std::string>();
  c->add_option("container", *container, "container")->required();
  c->add_option("port", *port, "PRIVATE_PORT[/PROTO]");
  c->callback([=, &g] {
    engine::ContainerEngine eng(g.root, g.state);
    auto ports = eng.ports(*container);
    std::string want = *port;
    if (!want.empty() && want.find('/') == std::string::npos) want += "/tcp";
    bool any = false;
    for (const auto& p : ports) {
      if (!want.empty() && p.container_port != want) continue;
      any = true;
      if (want.empty()) std::cout << p.container_port << " -> ";
      std::cout << (p.host_ip.find(':') != std::string::npos ? "[" + p.host_ip + "]" : p.host_ip) << ":" << p.host_port << "\n";
    }
    if (!want.empty() && !any)
      throw Error("No public port '" + want + "' published for " + *container, ErrorKind::NotFound);
  });
}

const bool registered = add_commands({"network"}, add_network_commands) && add_commands({"port"}, add_port_command);

}  // namespace
}  // namespace berth::cli
