// `stats` (docker's table and --format fields) and `update`.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command_registry.hpp"
#include "cli/commands/output.hpp"
#include "cli/commands/run_flags.hpp"
#include "common/error.hpp"
#include "engine/container_engine.hpp"

namespace berth::cli {
namespace {

// docker's units: binary for memory ("1.5MiB"), decimal for I/O ("1.2kB").
std::string units(double v, bool binary) {
  const char* bin[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  const char* dec[] = {"B", "kB", "MB", "GB", "TB"};
  double base = binary ? 1024 : 1000;
  int i = 0;
  while (v >= base && i < 4) {
    v /= base;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%s", v, binary ? bin[i] : dec[i]);
  return buf;
}

nlohmann::json stats_row(const engine::ContainerEngine::Stats& s) {
  char cpu[32], mem[32];
  std::snprintf(cpu, sizeof cpu, "%.2f%%", s.cpu_percent);
  std::snprintf(mem, sizeof mem, "%.2f%%", s.mem_limit ? 100.0 * static_cast<double>(s.mem_usage) / static_cast<double>(s.mem_limit) : 0.0);
  return {{"Container", s.id.substr(0, 12)},
          {"ID", s.id.substr(0, 12)},
          {"Name", s.name},
          {"CPUPerc", cpu},
          {"MemUsage", units(static_cast<double>(s.mem_usage), true) + " / " + units(static_cast<double>(s.mem_limit), true)},
          {"MemPerc", mem},
          {"NetIO", units(static_cast<double>(s.net_rx), false) + " / " + units(static_cast<double>(s.net_tx), false)},
          {"BlockIO", units(static_cast<double>(s.blk_read), false) + " / " + units(static_cast<double>(s.blk_write), false)},
          {"PIDs", std::to_string(s.pids)}};
}

void add_stats(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("stats", "Display a live stream of container(s) resource usage statistics");
  struct F {
    bool no_stream = false, all = false, no_trunc = false;
    std::string format;
    std::vector<std::string> refs;
  };
  auto f = std::make_shared<F>();
  c->add_flag("--no-stream", f->no_stream, "Disable streaming stats and only pull the first result");
  c->add_flag("-a,--all", f->all, "Show all containers (default shows just running)");
  c->add_flag("--no-trunc", f->no_trunc, "Do not truncate output");
  c->add_option("--format", f->format, "Format output using a custom template");
  c->add_option("containers", f->refs, "containers");
  c->callback([f, &g] {
    engine::ContainerEngine eng(g.root, g.state);
    TableSpec spec{"table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
                   {{"ID", "CONTAINER ID"}, {"Container", "CONTAINER"}, {"Name", "NAME"}, {"CPUPerc", "CPU %"},
                    {"MemUsage", "MEM USAGE / LIMIT"}, {"MemPerc", "MEM %"}, {"NetIO", "NET I/O"},
                    {"BlockIO", "BLOCK I/O"}, {"PIDs", "PIDS"}}};
    std::vector<std::string> refs = f->refs;
    if (refs.empty() && f->all) {
      engine::ListOptions lo;
      lo.all = true;
      for (auto& ct : eng.list(lo)) refs.push_back(ct.id);
    }
    bool tty = ::isatty(STDOUT_FILENO);
    for (;;) {
      std::vector<nlohmann::json> rows;
      for (auto& s : eng.stats(refs, f->no_stream ? 200 : 1000)) {
        auto r = stats_row(s);
        if (f->no_trunc) r["ID"] = r["Container"] = s.id;
        rows.push_back(r);
      }
      std::string out = format_rows(f->format, rows, spec);
      if (!f->no_stream && tty) std::cout << "\033[2J\033[H";
      std::cout << out << std::flush;
      if (f->no_stream) return;
    }
  });
}

void add_update(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("update", "Update configuration of one or more containers");
  struct F {
    std::string memory, memory_swap, cpus, restart;
    int64_t cpu_shares = 0, pids_limit = 0;
    std::vector<std::string> refs;
  };
  auto f = std::make_shared<F>();
  c->add_option("-m,--memory", f->memory, "Memory limit");
  c->add_option("--memory-swap", f->memory_swap, "Swap limit equal to memory plus swap: -1 to enable unlimited swap");
  c->add_option("--cpus", f->cpus, "Number of CPUs");
  c->add_option("-c,--cpu-shares", f->cpu_shares, "CPU shares (relative weight)");
  c->add_option("--pids-limit", f->pids_limit, "Tune container pids limit (set -1 for unlimited)");
  c->add_option("--restart", f->restart, "Restart policy to apply when a container exits");
  c->add_option("containers", f->refs, "containers")->required();
  c->callback([c, f, &g] {
    engine::ContainerEngine::Update u;
    if (!f->memory.empty()) u.memory = parse_size(f->memory, "--memory");
    if (!f->memory_swap.empty()) u.memory_swap = f->memory_swap == "-1" ? -1 : parse_size(f->memory_swap, "--memory-swap");
    if (!f->cpus.empty()) {
      char* end = nullptr;
      double v = std::strtod(f->cpus.c_str(), &end);
      if (*end || v < 0 || std::isnan(v)) throw ExitStatus{1, "invalid argument \"" + f->cpus + "\" for \"--cpus\" flag"};
      u.nano_cpus = static_cast<int64_t>(std::llround(v * 1e9));
    }
    if (c->count("--cpu-shares")) u.cpu_shares = f->cpu_shares;
    if (c->count("--pids-limit")) u.pids_limit = f->pids_limit;
    if (!f->restart.empty()) {
      engine::RestartPolicy p;
      auto colon = f->restart.find(':');
      p.name = f->restart.substr(0, colon);
      if (colon != std::string::npos) p.maximum_retry_count = std::atoi(f->restart.c_str() + colon + 1);
      u.restart = p;
    }
    engine::ContainerEngine eng(g.root, g.state);
    int failed = 0;
    for (auto& r : f->refs) {
      try {
        eng.update(r, u);
        std::cout << r << "\n";
      } catch (const Error& e) {
        std::cerr << "Error response from daemon: " << e.what() << "\n";
        failed = 1;
      }
    }
    if (failed) throw ExitStatus{1, ""};
  });
}

void add_stats_commands(CLI::App& app, Globals& g) {
  add_stats(app, g);
  add_update(app, g);
  if (CLI::App* ct = find_subcommand(app, "container")) {
    add_stats(*ct, g);
    add_update(*ct, g);
  }
}

const bool registered = add_commands({"stats", "update", "container"}, add_stats_commands, true);

}  // namespace
}  // namespace berth::cli
