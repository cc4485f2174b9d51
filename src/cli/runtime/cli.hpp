// berth-runtime command line: runc's syntax, parsed by hand because runc's
// (urfave/cli) accepts forms CLI11 does not: single-dash long flags
// (-root), positional signals (`kill ID 9`), and `exec ID cmd -flags...`
// where everything after the id belongs to the command.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/container.hpp"

namespace berth::cli {

// One line on stdout. (No iostreams in berth-runtime: their static
// initialisation and the C++ locale they build cost every container start.)
void print_line(std::string_view s);

struct FlagSpec {
  std::vector<std::string> names;  // first is the canonical name ("bundle", "b")
  bool takes_value = false;
};

class Args {
 public:
  // Parses argv[from..]. With stop_at_positional, the first non-flag ends
  // flag parsing (exec: flags come before the id, the rest is the command).
  Args(const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs, bool stop_at_positional,
       const std::string& command);

  bool flag(const std::string& name) const;
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string value(const std::string& name, const std::string& def = "") const;
  std::vector<std::string> values(const std::string& name) const;
  unsigned uint_value(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // Exactly n positionals ("ID"), or an InvalidArgument error with usage.
  void expect_positional(size_t min, size_t max, const std::string& usage) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  std::string command_;
};

using Handler = int (*)(const runtime::GlobalOptions& g, const std::vector<std::string>& args);

struct Command {
  const char* name;
  const char* summary;
  Handler run;
};

// Verb implementations (src/cli/runtime/*.cpp).
int cmd_create(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_run(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_start(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_state(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_kill(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_delete(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_pause(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_update(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_resume(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_exec(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_list(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_ps(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_features(const runtime::GlobalOptions&, const std::vector<std::string>&);
int cmd_spec(const runtime::GlobalOptions&, const std::vector<std::string>&);

}  // namespace berth::cli
