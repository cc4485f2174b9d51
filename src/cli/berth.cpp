// berth: the user CLI. Daemonless; every subcommand drives the engine library.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "cli/command_registry.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace berth::cli {

static std::vector<Registration>& registrations() {
  static std::vector<Registration> r;
  return r;
}

bool add_commands(Registration r) {
  registrations().push_back(std::move(r));
  return true;
}

}  // namespace berth::cli

int main(int argc, char** argv) {
  using namespace berth;
  cli::Globals g;
  if (const char* r = std::getenv("BERTH_ROOT")) g.root = r;
  if (const char* s = std::getenv("BERTH_STATE")) g.state = s;

  CLI::App app{"berth: containers and micro-VMs from one tool and one image store", "berth"};
  app.set_version_flag("--version", std::string("berth version ") + BERTH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--root", g.root, "root directory for persistent state")->capture_default_str();
  app.add_option("--state", g.state, "directory for runtime state")->capture_default_str();
  app.add_flag("--debug", g.debug, "log debug messages");
  app.parse_complete_callback([&] {
    log::configure("berth", "", log::Format::Text,
                   g.debug ? log::Level::Debug : log::Level::Warn);
  });
  for (auto& r : cli::registrations()) r(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "berth: " << e.what() << " (see 'berth --help')\n";
    return 2;
  } catch (const Error& e) {
    std::cerr << "berth: " << e.what() << "\n";
    return exit_code_for(e.kind());
  } catch (const std::exception& e) {
    std::cerr << "berth: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
