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
#include <initializer_list>
#include <string>
#include <vector>

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

// Thrown by a command to end `berth` with `code` (docker's exit codes: the
// container's own for `run`, 125/126/127 for start failures); `message`,
// if any, is printed as "berth: MESSAGE" first.
struct ExitStatus {
  int code;
  std::string message;
};

// `words`: every top-level word the registration adds or extends (its
// verbs and groups). It runs only when the command line names one of them
// (or asks for help): a verb the line does not name need not exist for
// CLI11 to parse it, and defining all of them was a sixth of a `berth ps`.
// `berth --help`, which runs all of them, fails if one adds a word it did
// not declare. `after_groups`: run after every plain registration, for
// verbs that add themselves to groups other files make (`container cp`,
// `image import`); find such a group with find_subcommand, which is null
// when this command line does not name it.
bool add_commands(std::initializer_list<const char*> words, Registration r, bool after_groups = false);
CLI::App* find_subcommand(CLI::App& app, const char* name);

// For verbs whose arguments end in a command of the container's own
// (`run IMAGE CMD -flags`, `exec ID CMD -flags`): option parsing stops at
// the first positional, as docker's does: berth.cpp cuts the command line
// there before CLI11 parses it (it knows which options take values), and
// the verb finds the rest in command_tail().
void stop_at_first_positional(CLI::App* c);

// Whether any of NAMES is a word of this command line. Verbs and groups
// still add themselves (so help lists them) but define their options only
// when named: defining every verb's options cost a fifth of a `berth ps`
// (`run`'s flags alone, four times over). Over-matching (an argument that
// happens to be a verb's name) only defines one verb too many. True for
// every name when no command line was given (callers that build the CLI
// for other uses).
bool named_on_command_line(std::initializer_list<const char*> names);
void set_command_line_words(int argc, char** argv);
bool stops_at_first_positional(const CLI::App* c);
std::vector<std::string>& command_tail();

}  // namespace berth::cli
