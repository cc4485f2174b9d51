// `berth vm pause/resume/snapshot/restore`: the engine's side of a running
// VMM's control socket (vmm/control.hpp), and the launch of a VMM that
// carries on from a snapshot (vmm/snapshot_file.hpp, docs/vm.md).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/vm_channel.hpp"
#include "engine/vm_manager.hpp"
#include "vmm/control.hpp"
#include "vmm/machine_section.hpp"
#include "vmm/migration_stream.hpp"
#include "vmm/snapshot_file.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

// A directory that may not exist yet, made absolute against the cwd (the
// VMM that writes it has another).
std::string absolute_dir(const std::string& dir) {
  if (dir.empty()) fail("snapshot directory must not be empty");
  if (dir[0] == '/') return dir;
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd)) throw_errno("get the current directory");
  return fs::join(cwd, dir);
}

}  // namespace

std::string VmManager::control_socket(const std::string& name) const {
  return fs::join(vm_state_dir(name), "control.sock");
}

// "paused" or "running", as the VMM says; "running" if it does not answer
// (a VMM of an older berth, or one busy writing a large snapshot).
std::string VmManager::live_state(const std::string& name) {
  try {
    json a = vmm::control_request(control_socket(name), {{"op", "status"}}, 1000);
    return a.value("state", "running");
  } catch (const Error&) {
    return "running";
  }
}

namespace {

// Ctrl-C while a migration runs: a process has one set of signal handlers.
std::atomic<bool> g_interrupted{false};

// One control request naming the VM in its error ("pause vm NAME: ...").
// A signal while it waits (the handler migrate() installs) asks the VMM to
// cancel, on a connection of its own; the answer then says "aborted".
json ask(const std::string& socket, const std::string& verb, const std::string& name, const json& request,
         int timeout_ms = 10000) {
  try {
    return vmm::control_request(socket, request, timeout_ms, [&] {
      if (!g_interrupted.exchange(false)) return;
      try {
        vmm::control_request(socket, {{"op", "migrate_cancel"}}, 2000);
      } catch (const Error&) {  // it ended meanwhile: its answer comes anyway
      }
    });
  } catch (Error& e) {
    throw e.wrap(verb + " vm " + name);
  }
}

}  // namespace

void VmManager::pause(const std::string& name) {
  running(name);
  ask(control_socket(name), "pause", name, {{"op", "pause"}});
}

void VmManager::resume(const std::string& name) {
  running(name);
  ask(control_socket(name), "resume", name, {{"op", "resume"}});
}

VmSnapshotResult VmManager::snapshot(const std::string& name, const std::string& dir, bool stop) {
  auto [pid, start] = running(name);
  VmSnapshotResult r;
  r.dir = absolute_dir(dir);
  // No time limit: the VMM writes all of guest RAM that holds data.
  json a = ask(control_socket(name), "snapshot", name, {{"op", "snapshot"}, {"dir", r.dir}, {"stop", stop}}, -1);
  r.state_bytes = a.value("state_bytes", uint64_t{0});
  r.memory_bytes = a.value("memory_bytes", uint64_t{0});
  r.pause_ms = a.value("pause_ms", 0.0);
  if (stop) wait_vmm_gone(name, pid, start);
  return r;
}

// The machine of the snapshot, with this host's files: the snapshot is read
// and checked whole here (version, checksums, sizes), so a bad one fails
// before any VMM starts; the VMM reads it again to load it.
VmManager::Prepared VmManager::prepare_restore(const VmSpec& s, bool detached) {
  std::string dir = absolute_dir(s.restore_from);
  if (!fs::is_dir(dir)) throw Error("snapshot directory " + dir + " not found", ErrorKind::NotFound, ENOENT);
  vmm::SnapshotReader snap(dir);
  vmm::MachineSection m = vmm::parse_machine_section(snap.section("machine"), "snapshot " + dir);
  check_fits(m.vm.cpus, m.vm.memory, "", "snapshot " + dir);
  struct stat st{};
  if (::stat(snap.memory_path().c_str(), &st) != 0)
    throw Error("snapshot " + dir + " has no memory file", ErrorKind::Corrupt, errno);
  if (static_cast<uint64_t>(st.st_size) != m.vm.memory)
    fail("snapshot " + dir + " is damaged: its memory file is " + std::to_string(st.st_size) + " bytes, not " +
             std::to_string(m.vm.memory),
         ErrorKind::Corrupt);
  for (const auto& d : m.vm.disks)
    if (!fs::exists(d.path)) throw Error("disk " + d.path + " of the snapshot not found", ErrorKind::NotFound, ENOENT);

  Prepared p;
  p.name = s.name.empty() ? m.name : s.name;
  place(p, detached);
  vmm::rebind(m, p.name, p.state_dir);
  p.launch.vm = m.vm;
  if (!m.vm.channel.empty()) fs::mkdir_p(m.vm.channel.substr(0, m.vm.channel.rfind('/')), 0700);
  p.launch.restore = dir;
  p.config = vmm::record_config(m);
  p.config["restored_from"] = dir;
  return p;
}

namespace {

// The token of --token-file: its first line, which must not be empty.
std::string read_token(const std::string& file) {
  if (file.empty()) return "";
  std::string t;
  try {
    t = fs::read_file(file);
  } catch (Error& e) {
    throw e.wrap("--token-file");
  }
  t = t.substr(0, t.find('\n'));
  if (t.empty() || t.size() > 4096) fail("--token-file " + file + ": the first line must hold a token (1 to 4096 bytes)");
  return t;
}

}  // namespace

// Receives on the address the VMM will listen on; the machine is known only
// once a source sends it (fold_incoming()).
VmManager::Prepared VmManager::prepare_incoming(const VmSpec& s, bool detached) {
  vmm::TcpAddress a = vmm::parse_tcp_address(s.incoming, "--listen");
  std::string token = read_token(s.token_file);
  if (!a.loopback && token.empty())
    fail("--listen " + s.incoming + " is not a loopback address: the stream carries the VM's whole memory, so a "
         "receiver there needs --token-file (the stream is not encrypted; TLS is not supported)");
  Prepared p;
  p.name = s.name.empty() ? random_name() : s.name;
  place(p, detached);
  p.launch.incoming = s.incoming;
  p.launch.token = token;
  p.config = {{"incoming", s.incoming}, {"rm", false}};
  return p;
}

void VmManager::fold_incoming(const std::string& name) {
  std::string path = fs::join(vm_dir(name), "machine.json");
  if (!fs::exists(path)) return;
  json machine = json::parse(fs::read_file(path), nullptr, false);
  auto st = db().prepare("SELECT config FROM vms WHERE name = ?");
  st.bind(1, name);
  if (!st.step() || !machine.is_object()) return;
  json cfg = json::parse(st.text(0), nullptr, false);
  if (!cfg.is_object() || !cfg.contains("incoming")) return;
  machine["received_on"] = cfg["incoming"];
  db().prepare("UPDATE vms SET config = ? WHERE name = ?").bind(1, machine.dump()).bind(2, name).run();
  ::unlink(path.c_str());
}

VmMigrateResult VmManager::migrate(const std::string& name, const VmMigrateOptions& o) {
  auto [pid, start] = running(name);
  vmm::parse_tcp_address(o.to, "--to");
  json req = {{"op", "migrate"},
              {"to", o.to},
              {"token", read_token(o.token_file)},
              {"max_downtime_ms", o.max_downtime_ms},
              {"max_rounds", o.max_rounds},
              {"max_bandwidth", o.max_bandwidth}};
  std::string sock = control_socket(name);
  struct sigaction sa{}, old_int{}, old_term{};
  sa.sa_handler = [](int) { g_interrupted = true; };
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  json a;
  try {
    a = ask(sock, "migrate", name, req, -1);
  } catch (...) {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    throw;
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  wait_vmm_gone(name, pid, start);
  // The VM has moved by now: figures of another type (the VMM handles the
  // guest, so its answer is data) read as 0, never as an error or a
  // float-to-int cast.
  auto field = [&](const char* k) -> const json& {
    static const json none;
    auto it = a.find(k);
    return it != a.end() ? *it : none;
  };
  auto ms = [&](const char* k) { return field(k).is_number() ? field(k).get<double>() : 0.0; };
  VmMigrateResult r;
  r.total_ms = ms("total_ms");
  r.downtime_ms = ms("downtime_ms");
  r.setup_ms = ms("setup_ms");
  r.sent_ms = ms("sent_ms");
  r.heard_ms = ms("heard_ms");
  r.bytes = field("bytes").is_number_unsigned() ? field("bytes").get<uint64_t>() : 0;
  const json& rounds = field("rounds");
  r.rounds = rounds.is_number_unsigned() && rounds.get<uint64_t>() <= INT32_MAX ? rounds.get<int>() : 0;
  return r;
}

void VmManager::cancel_migration(const std::string& name) {
  running(name);
  ask(control_socket(name), "abort the migration of", name, {{"op", "migrate_cancel"}});
}

}  // namespace berth::engine
