#include "cli/runtime/cli.hpp"

#include <cstdio>

#include "common/error.hpp"

namespace berth::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs, bool stop_at_positional,
           const std::string& command)
    : command_(command) {
  auto find = [&](const std::string& n) -> const FlagSpec* {
    for (auto& s : specs)
      for (auto& name : s.names)
        if (name == n) return &s;
    return nullptr;
  };
  bool flags_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (flags_done || a.size() < 2 || a[0] != '-') {
      positional_.push_back(a);
      if (stop_at_positional) flags_done = true;
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::string inline_value;
    bool has_inline = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      inline_value = body.substr(eq + 1);
      body = body.substr(0, eq);
      has_inline = true;
    }
    const FlagSpec* spec = find(body);
    if (!spec) fail(command_ + ": unknown flag " + a + " (see berth-runtime " + command_ + " --help)");
    const std::string& canon = spec->names[0];
    if (spec->takes_value) {
      std::string v;
      if (has_inline) {
        v = inline_value;
      } else {
        if (i + 1 >= argv.size()) fail(command_ + ": flag " + a + " needs a value");
        v = argv[++i];
      }
      values_[canon].push_back(v);
    } else {
      std::string v = has_inline ? inline_value : "true";
      if (v != "true" && v != "false" && v != "1" && v != "0")
        fail(command_ + ": flag " + a + " takes true or false, not \"" + v + "\"");
      values_[canon].push_back(v == "true" || v == "1" ? "true" : "false");
    }
  }
}

bool Args::flag(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && it->second.back() == "true";
}

std::string Args::value(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  return it == values_.end() ? def : it->second.back();
}

std::vector<std::string> Args::values(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

unsigned Args::uint_value(const std::string& name) const {
  std::string v = value(name, "0");
  char* end = nullptr;
  unsigned long n = std::strtoul(v.c_str(), &end, 10);
  if (v.empty() || *end || n > 1u << 20) fail(command_ + ": --" + name + " wants a number, not \"" + v + "\"");
  return static_cast<unsigned>(n);
}

void print_line(std::string_view s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
}

void Args::expect_positional(size_t min, size_t max, const std::string& usage) const {
  if (positional_.size() < min || positional_.size() > max)
    fail(command_ + ": " + (positional_.size() < min ? "missing arguments" : "too many arguments") +
         "; usage: berth-runtime " + command_ + " " + usage);
}

}  // namespace berth::cli
