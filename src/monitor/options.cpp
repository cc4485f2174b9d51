#include "monitor/options.hpp"

#include <cstdlib>

#include "common/error.hpp"

namespace berth::monitor {

namespace {

int64_t number(const std::string& flag, const char* v) {
  char* end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  if (!*v || *end) fail("berth-monitor: " + flag + " wants a number, not \"" + v + "\"");
  return n;
}

}  // namespace

std::vector<std::string> to_argv(const Options& o) {
  std::vector<std::string> a = {"berth-monitor", "--id", o.id, "--runtime", o.runtime, "--bundle", o.bundle,
                                "--state-dir", o.state_dir, "--log", o.log_path, "--status", o.status_path};
  auto add = [&](const char* f, const std::string& v) {
    a.push_back(f);
    a.push_back(v);
  };
  for (auto& r : o.runtime_args) add("--runtime-arg", r);
  if (o.log_max_size) add("--log-max-size", std::to_string(o.log_max_size));
  if (o.log_max_files != 1) add("--log-max-files", std::to_string(o.log_max_files));
  if (!o.cgroup_path.empty()) add("--cgroup", o.cgroup_path);
  if (!o.events_root.empty()) add("--events-root", o.events_root);
  if (!o.name.empty()) add("--name", o.name);
  if (!o.image.empty()) add("--image", o.image);
  if (o.tty) a.push_back("--tty");
  if (o.stdin_open) a.push_back("--stdin");
  if (o.stdin_once) a.push_back("--stdin-once");
  if (o.sync_fd >= 0) add("--sync-fd", std::to_string(o.sync_fd));
  if (o.attach_fd >= 0) add("--attach-fd", std::to_string(o.attach_fd));
  if (o.restart != "no") add("--restart", o.restart);
  if (o.max_retries) add("--max-retries", std::to_string(o.max_retries));
  if (o.restart_count) add("--restart-count", std::to_string(o.restart_count));
  if (o.stop_signal != 15) add("--stop-signal", std::to_string(o.stop_signal));
  if (o.stop_timeout != 10) add("--stop-timeout", std::to_string(o.stop_timeout));
  if (!o.rootfs.empty()) add("--rootfs", o.rootfs);
  for (auto& e : o.exit_command) add("--exit-command", e);
  if (!o.health.test.empty()) {
    for (auto& t : o.health.test) add("--health", t);
    add("--health-interval", std::to_string(o.health.interval_ms));
    add("--health-timeout", std::to_string(o.health.timeout_ms));
    add("--health-start-period", std::to_string(o.health.start_period_ms));
    add("--health-retries", std::to_string(o.health.retries));
  }
  return a;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    auto bare = [&](const char* name, bool& field) {
      if (f != name) return false;
      field = true;
      return true;
    };
    if (bare("--tty", o.tty) || bare("--stdin", o.stdin_open) || bare("--stdin-once", o.stdin_once)) continue;
    if (i + 1 >= argc) fail("berth-monitor: " + f + " needs a value (or is unknown)");
    const char* v = argv[++i];
    if (f == "--id") o.id = v;
    else if (f == "--runtime") o.runtime = v;
    else if (f == "--runtime-arg") o.runtime_args.push_back(v);
    else if (f == "--bundle") o.bundle = v;
    else if (f == "--rootfs") o.rootfs = v;
    else if (f == "--state-dir") o.state_dir = v;
    else if (f == "--log") o.log_path = v;
    else if (f == "--log-max-size") o.log_max_size = number(f, v);
    else if (f == "--log-max-files") o.log_max_files = static_cast<int>(number(f, v));
    else if (f == "--status") o.status_path = v;
    else if (f == "--cgroup") o.cgroup_path = v;
    else if (f == "--events-root") o.events_root = v;
    else if (f == "--name") o.name = v;
    else if (f == "--image") o.image = v;
    else if (f == "--sync-fd") o.sync_fd = static_cast<int>(number(f, v));
    else if (f == "--attach-fd") o.attach_fd = static_cast<int>(number(f, v));
    else if (f == "--restart") o.restart = v;
    else if (f == "--max-retries") o.max_retries = static_cast<int>(number(f, v));
    else if (f == "--restart-count") o.restart_count = static_cast<int>(number(f, v));
    else if (f == "--stop-signal") o.stop_signal = static_cast<int>(number(f, v));
    else if (f == "--stop-timeout") o.stop_timeout = static_cast<int>(number(f, v));
    else if (f == "--exit-command") o.exit_command.push_back(v);
    else if (f == "--health") o.health.test.push_back(v);
    else if (f == "--health-interval") o.health.interval_ms = number(f, v);
    else if (f == "--health-timeout") o.health.timeout_ms = number(f, v);
    else if (f == "--health-start-period") o.health.start_period_ms = number(f, v);
    else if (f == "--health-retries") o.health.retries = static_cast<int>(number(f, v));
    else fail("berth-monitor: unknown flag " + f);
  }
  if (o.id.empty() || o.runtime.empty() || o.bundle.empty() || o.state_dir.empty() || o.log_path.empty() ||
      o.status_path.empty())
    fail("berth-monitor: --id, --runtime, --bundle, --state-dir, --log and --status are required");
  return o;
}

}  // namespace berth::monitor
