#include "vmm/launch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <utility>
#include <nlohmann/json.hpp>

#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"

namespace berth::vmm {

using nlohmann::json;

namespace {

// What the VMM writes back (reports, the exit record) is read as data from
// the process that handles the guest: a field of the wrong type reads as
// absent, not as a json::type_error, and a float is no int (no
// float-to-int cast: 1e300 into an int is undefined behaviour).
std::string text_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t int_field(const json& j, const char* key, int64_t lo, int64_t hi) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer() || (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t{INT64_MAX}))
    return 0;
  int64_t v = it->get<int64_t>();
  return v < lo || v > hi ? 0 : v;
}

}  // namespace

std::string to_json(const LaunchConfig& c) {
  json disks = json::array();
  for (const auto& d : c.vm.disks) disks.push_back({{"path", d.path}, {"readonly", d.readonly}});
  return json_text(json{{"name", c.name},
                        {"kernel", c.vm.boot.kernel},
                        {"initrd", c.vm.boot.initrd},
                        {"cmdline", c.vm.boot.cmdline},
                        {"cpus", c.vm.cpus},
                        {"memory", c.vm.memory},
                        {"disks", disks},
                        {"tap", c.vm.tap},
                        {"mac", c.vm.mac},
                        {"rng", c.vm.rng},
                        {"channel", c.vm.channel},
                        {"cgroup", c.cgroup},
                        {"detached", c.detached},
                        {"console_log", c.console_log},
                        {"console_socket", c.console_socket},
                        {"vmm_log", c.vmm_log},
                        {"exit_file", c.exit_file},
                        {"control_socket", c.control_socket},
                        {"restore", c.restore},
                        {"exit_command", c.exit_command},
                        {"incoming", c.incoming},
                        {"token", c.token}});
}

LaunchConfig launch_config_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) fail("VM launch config is not a JSON object");
  LaunchConfig c;
  try {
    c.name = j.at("name").get<std::string>();
    c.vm.boot.kernel = j.value("kernel", "");
    c.vm.boot.initrd = j.value("initrd", "");
    c.vm.boot.cmdline = j.value("cmdline", "");
    c.vm.cpus = j.value("cpus", 1);
    c.vm.memory = j.value("memory", uint64_t{256} * kMiB);
    for (const auto& d : j.value("disks", json::array()))
      c.vm.disks.push_back({d.at("path").get<std::string>(), d.value("readonly", false)});
    c.vm.tap = j.value("tap", "");
    c.vm.mac = j.value("mac", "");
    c.vm.rng = j.value("rng", true);
    c.vm.channel = j.value("channel", "");
    c.cgroup = j.value("cgroup", "");
    c.detached = j.value("detached", false);
    c.console_log = j.value("console_log", "");
    c.console_socket = j.value("console_socket", "");
    c.vmm_log = j.value("vmm_log", "");
    c.exit_file = j.at("exit_file").get<std::string>();
    c.control_socket = j.value("control_socket", "");
    c.restore = j.value("restore", "");
    c.exit_command = j.value("exit_command", std::vector<std::string>{});
    c.incoming = j.value("incoming", "");
    c.token = j.value("token", "");
  } catch (const json::exception& e) {
    fail(std::string("VM launch config: ") + e.what());
  }
  if (c.name.empty() || (c.vm.boot.kernel.empty() && c.restore.empty() && c.incoming.empty()) || c.exit_file.empty())
    fail("VM launch config: name, kernel (or restore, or incoming) and exit_file must not be empty");
  if (c.detached && (c.console_log.empty() || c.console_socket.empty()))
    fail("VM launch config: a detached VM needs console_log and console_socket");
  return c;
}

std::optional<std::string> LineReader::next() {
  for (;;) {
    if (auto nl = buf_.find('\n'); nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    char b[4096];
    ssize_t n = ::read(fd_, b, sizeof b);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read from fd " + std::to_string(fd_));
    if (n == 0) {
      if (buf_.empty()) return std::nullopt;
      return std::exchange(buf_, std::string());
    }
    buf_.append(b, static_cast<size_t>(n));
  }
}

std::optional<LaunchConfig> LaunchChannel::read_config() {
  std::optional<std::string> line = lines_.next();
  if (!line) return std::nullopt;
  return launch_config_from_json(*line);
}

bool LaunchChannel::wait_go() {
  std::optional<std::string> line = lines_.next();
  fd_.reset();
  return line == "go";
}

void write_exit_record(const std::string& path, const ExitRecord& r) {
  std::string data =
      json_text(json{{"pid", r.pid}, {"reason", r.reason}, {"detail", r.detail}, {"finished", r.finished}});
  std::string tmp = path + ".tmp";
  {
    // No fsync: after a host crash the VM is gone anyway, and a missing
    // record reads as "dead". Rename keeps a reader from seeing half of it.
    UniqueFd f(static_cast<int>(check(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600),
                                      "create exit record " + tmp)));
    if (::write(f.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
      throw_errno("write exit record " + tmp);
  }
  check(::rename(tmp.c_str(), path.c_str()), "rename exit record to " + path);
}

std::optional<ExitRecord> read_exit_record(const std::string& path) {
  std::string text;
  try {
    text = fs::read_file(path);
  } catch (const Error&) {
    return std::nullopt;
  }
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  ExitRecord r;
  r.pid = static_cast<pid_t>(int_field(j, "pid", 0, INT32_MAX));
  r.reason = text_field(j, "reason");
  r.detail = text_field(j, "detail");
  r.finished = text_field(j, "finished");
  if (r.reason.empty()) return std::nullopt;
  return r;
}

std::string to_json(const Report& r) {
  json j = {{"event", r.event}};
  if (r.event == "exit") {
    j["reason"] = r.reason;
    j["detail"] = r.detail;
  } else if (r.event == "error") {
    j["kind"] = static_cast<int>(r.kind);
    j["message"] = r.message;
  }
  return json_text(j);
}

std::optional<Report> parse_report(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("event") || !j["event"].is_string()) return std::nullopt;
  Report r;
  r.event = j["event"].get<std::string>();
  r.reason = text_field(j, "reason");
  r.detail = text_field(j, "detail");
  int64_t kind = int_field(j, "kind", 0, static_cast<int>(ErrorKind::Corrupt));
  r.kind = kind > 0 ? static_cast<ErrorKind>(kind) : ErrorKind::Internal;
  r.message = text_field(j, "message");
  return r;
}

std::optional<Report> next_report(LineReader& lines) {
  try {
    while (std::optional<std::string> line = lines.next())
      if (auto r = parse_report(*line)) return r;
  } catch (const Error&) {  // a read error: as good as EOF
  }
  return std::nullopt;
}

int exit_code(ExitReason r) {
  switch (r) {
    case ExitReason::Poweroff:
    case ExitReason::Reset:
    case ExitReason::Stopped:
    case ExitReason::Snapshotted:
    case ExitReason::Migrated:
      return 0;
    default:
      return 1;
  }
}

int exit_code(std::string_view reason) {
  return reason == "poweroff" || reason == "reset" || reason == "stopped" || reason == "snapshotted" ||
                 reason == "migrated"
             ? 0
             : 1;
}

}  // namespace berth::vmm
