// berth: the user CLI. Daemonless; every subcommand drives the engine library.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command_registry.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "vmm/trace.hpp"

namespace berth::cli {

struct Registered {
  std::vector<std::string> words;
  Registration add;
  bool after_groups;
};

static std::vector<Registered>& registrations() {
  static std::vector<Registered> r;
  return r;
}

bool add_commands(std::initializer_list<const char*> words, Registration r, bool after_groups) {
  registrations().push_back({std::vector<std::string>(words.begin(), words.end()), std::move(r), after_groups});
  return true;
}

CLI::App* find_subcommand(CLI::App& app, const char* name) {
  for (CLI::App* s : app.get_subcommands([](CLI::App*) { return true; }))
    if (s->get_name() == name) return s;
  return nullptr;
}

static std::vector<const CLI::App*>& positional_stoppers() {
  static std::vector<const CLI::App*> v;
  return v;
}

std::vector<std::string>& command_tail() {
  static std::vector<std::string> tail;
  return tail;
}

static std::vector<std::string>& command_line_words() {
  static std::vector<std::string> w;
  return w;
}
static bool have_command_line = false;

void set_command_line_words(int argc, char** argv) {
  have_command_line = true;
  bool any = false;
  for (int i = 1; i < argc; ++i) any = any || (argv[i][0] && argv[i][0] != '-');
  if (!any) {  // no verb: the usage lists them all
    have_command_line = false;
    return;
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {  // help of a group lists its verbs' usage
      have_command_line = false;
      return;
    }
    if (!a.empty() && a[0] != '-') command_line_words().emplace_back(a);
  }
}

bool named_on_command_line(std::initializer_list<const char*> names) {
  if (!have_command_line) return true;
  for (const char* n : names)
    for (const auto& w : command_line_words())
      if (w == n) return true;
  return false;
}

void stop_at_first_positional(CLI::App* c) { positional_stoppers().push_back(c); }

bool stops_at_first_positional(const CLI::App* c) {
  for (auto* s : positional_stoppers())
    if (s == c) return true;
  return false;
}

// Walks the command line as CLI11 will, down the subcommands; in a verb that
// stops at its first positional, puts "--" before that positional.
static std::vector<std::string> mark_command_start(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  CLI::App* cur = &app;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.size() > 1 && a[0] == '-') {
      if (a.find('=') != std::string::npos) continue;
      // the last letter of "-it" or the whole "--name" decides if a value follows
      std::string name = a[1] == '-' ? a : "-" + a.substr(a.size() - 1);
      const CLI::Option* o = nullptr;
      for (CLI::App* scope = cur; scope && !o; scope = scope->get_parent()) o = scope->get_option_no_throw(name);
      if (o && o->get_items_expected_min() > 0 && !o->get_positional()) ++i;  // skip its value
      continue;
    }
    if (stops_at_first_positional(cur)) {
      command_tail().assign(args.begin() + static_cast<long>(i), args.end());
      args.resize(i);
      break;
    }
    CLI::App* sub = nullptr;
    for (CLI::App* s : cur->get_subcommands([](CLI::App*) { return true; }))
      if (s->check_name(a)) sub = s;
    if (!sub) break;
    cur = sub;
  }
  return args;
}

// The words of a command line that are neither flags nor the value of
// --root or --state: the first is the verb or group.
static std::vector<std::string> plain_words(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--root" || a == "--state") {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] != '-') out.emplace_back(a);
  }
  return out;
}

static std::string first_word(int argc, char** argv) {
  auto w = plain_words(argc, argv);
  return w.empty() ? "" : w[0];
}

// The verb a command line names (`container run` -> "run").
static std::string verb_of(int argc, char** argv) {
  for (auto& w : plain_words(argc, argv))
    if (w != "container") return w;
  return "";
}

// `run`, `create` and `start` fail with docker's 125 on a bad flag, as on
// any engine error.
static bool starts_container(int argc, char** argv) {
  std::string v = verb_of(argc, argv);
  return v == "run" || v == "create" || v == "start";
}

// docker's container, volume and system verbs exit 1 on any error; the
// image and vm verbs keep Berth's per-kind codes (docs/architecture.md).
static int error_exit_code(int argc, char** argv, ErrorKind kind) {
  if (starts_container(argc, argv)) return 125;
  std::string v = verb_of(argc, argv);
  if (v == "image" || v == "images" || v == "load" || v == "save" || v == "tag" || v == "rmi" || v == "vm" || v.empty())
    return exit_code_for(kind);
  return 1;
}

}  // namespace berth::cli

int main(int argc, char** argv) {
  using namespace berth;
  berth::vmm::trace("C main");
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
  cli::set_command_line_words(argc, argv);
  for (bool late : {false, true})
    for (auto& reg : cli::registrations()) {
      if (reg.after_groups != late) continue;
      bool named = false;
      for (const auto& w : reg.words) named = named || cli::named_on_command_line({w.c_str()});
      if (!named) continue;
      auto before = app.get_subcommands([](CLI::App*) { return true; });
      reg.add(app, g);
      for (CLI::App* s : app.get_subcommands([](CLI::App*) { return true; }))
        if (std::find(before.begin(), before.end(), s) == before.end() &&
            std::find(reg.words.begin(), reg.words.end(), s->get_name()) == reg.words.end()) {
          std::cerr << "berth: internal: a command registration adds '" << s->get_name()
                    << "' without declaring it (add_commands)\n";
          return 70;
        }
    }

  // docker's words for a verb it does not have (CLI11 would say that a
  // subcommand is required: the verbs not named were never defined).
  if (std::string v = cli::first_word(argc, argv); !v.empty()) {
    bool known = false;  // a name or an alias
    for (CLI::App* s : app.get_subcommands([](CLI::App*) { return true; })) known = known || s->check_name(v);
    if (!known) {
      std::cerr << "berth: '" << v << "' is not a berth command (see 'berth --help')\n";
      return 1;
    }
  }
  try {
    std::vector<std::string> args = cli::mark_command_start(app, argc, argv);
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string msg = e.what();
    // docker's words for a flag it does not know
    for (const char* extra : {"The following argument was not expected: ", "The following arguments were not expected: "})
      if (msg.rfind(extra, 0) == 0 && msg.size() > strlen(extra) && msg[strlen(extra)] == '-')
        msg = "unknown flag: " + msg.substr(strlen(extra));
    std::cerr << "berth: " << msg << " (see 'berth --help')\n";
    // docker: a flag error is 125 for every verb; image and vm verbs keep 2
    return cli::error_exit_code(argc, argv, ErrorKind::InvalidArgument) == 2 ? 2 : 125;
  } catch (const cli::ExitStatus& e) {
    if (!e.message.empty()) std::cerr << "berth: " << e.message << "\n";
    return e.code;
  } catch (const Error& e) {
    std::cerr << "berth: " << e.what() << "\n";
    return cli::error_exit_code(argc, argv, e.kind());
  } catch (const std::exception& e) {
    std::cerr << "berth: " << e.what() << "\n";
    return 1;
  }
  berth::vmm::trace("C exit");
  return 0;
}
