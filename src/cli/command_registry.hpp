// Each file in src/cli/commands/ adds its subcommands to the `berth` CLI by
// defining one static registration:
//
//   static const bool registered = berth::cli::add_commands(
//       [](CLI::App& app, berth::cli::Globals& g) { ... });
//
// so adding a command group never edits berth.cpp. Commands parse flags and
// call the engine; no logic lives here that `berth serve` would also need.
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace berth::cli {

// Global flags shared by every subcommand (parsed before the subcommand runs).
struct Globals {
  std::string root = "/var/lib/berth";   // --root / BERTH_ROOT
  std::string state = "/run/berth";      // --state / BERTH_STATE
  bool debug = false;
};

using Registration = std::function<void(CLI::App&, Globals&)>;

bool add_commands(Registration r);

}  // namespace berth::cli
