#include "common/log.hpp"

#include "common/clock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace berth::log {
namespace {

struct State {
  std::string program = "berth";
  int fd = STDERR_FILENO;
  bool owns_fd = false;
  Format format = Format::Text;
  Level min_level = Level::Warn;
};

State& state() {
  static State s;
  return s;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warning";
    case Level::Error: return "error";
  }
  return "info";
}

}  // namespace

void configure(std::string_view program, const std::string& path, Format format,
               Level min_level) {
  State& s = state();
  s.program = program;
  s.format = format;
  s.min_level = min_level;
  if (!path.empty()) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      if (s.owns_fd) ::close(s.fd);
      s.fd = fd;
      s.owns_fd = true;
    }
  }
}

bool to_file() { return state().owns_fd; }

void write(Level level, std::string_view message) {
  State& s = state();
  if (level < s.min_level) return;
  std::string line;
  if (s.format == Format::Json) {
    nlohmann::json j = {{"level", level_name(level)},
                        {"msg", std::string(message)},
                        {"time", now_rfc3339()}};
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = s.program + ": ";
    if (level != Level::Error) line += std::string(level_name(level)) + ": ";
    line += message;
  }
  line += '\n';
  // One write() per line so concurrent writers do not interleave.
  [[maybe_unused]] ssize_t n = ::write(s.fd, line.data(), line.size());
}

}  // namespace berth::log
