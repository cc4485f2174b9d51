// `berth vm pause/resume/snapshot/restore`: the engine's side of a running
// VMM's control socket (vmm/control.hpp), and the launch of a VMM that
// carries on from a snapshot (vmm/snapshot_file.hpp, docs/vm.md).
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/vm_channel.hpp"
#include "engine/vm_manager.hpp"
#include "vmm/control.hpp"
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

// The auto-named parts of a machine follow its name: the tap of `--net tap`
// and the default channel socket; anything the user named stays.
std::string renamed(const std::string& value, const std::string& auto_old, const std::string& auto_new) {
  return value == auto_old ? auto_new : value;
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

// One control request naming the VM in its error ("pause vm NAME: ...").
json ask(const std::string& socket, const std::string& verb, const std::string& name, json request,
         int timeout_ms = 10000) {
  try {
    return vmm::control_request(socket, request, timeout_ms);
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
  json m = snap.section("machine");
  auto field = [&](const char* k) -> const json& {
    if (!m.contains(k)) fail("snapshot " + dir + " is damaged: its machine has no " + k, ErrorKind::Corrupt);
    return m[k];
  };
  Prepared p;
  vmm::VmConfig& vm = p.launch.vm;
  std::string old_name;
  try {
    old_name = field("name").get<std::string>();
    vm.cpus = field("cpus").get<int>();
    vm.memory = field("memory").get<uint64_t>();
    vm.boot.kernel = field("kernel").get<std::string>();
    vm.boot.cmdline = field("cmdline").get<std::string>();
    vm.rng = field("rng").get<bool>();
    vm.tap = field("tap").get<std::string>();
    vm.channel = field("channel").get<std::string>();
    for (const auto& d : field("disks")) vm.disks.push_back({d.at("path").get<std::string>(), d.at("readonly").get<bool>()});
  } catch (const json::exception& e) {
    fail("snapshot " + dir + " is damaged: its machine section: " + e.what(), ErrorKind::Corrupt);
  }
  check_fits(vm.cpus, vm.memory, "", "snapshot " + dir);
  struct stat st{};
  if (::stat(snap.memory_path().c_str(), &st) != 0)
    throw Error("snapshot " + dir + " has no memory file", ErrorKind::Corrupt, errno);
  if (static_cast<uint64_t>(st.st_size) != vm.memory)
    fail("snapshot " + dir + " is damaged: its memory file is " + std::to_string(st.st_size) + " bytes, not " +
             std::to_string(vm.memory),
         ErrorKind::Corrupt);
  for (const auto& d : vm.disks)
    if (!fs::exists(d.path)) throw Error("disk " + d.path + " of the snapshot not found", ErrorKind::NotFound, ENOENT);

  p.name = s.name.empty() ? old_name : s.name;
  place(p, detached);
  vm.tap = renamed(vm.tap, ("bt-" + old_name).substr(0, 15), ("bt-" + p.name).substr(0, 15));
  vm.channel = renamed(vm.channel, fs::join(vm_state_dir(old_name), "channel.sock"),
                       fs::join(p.state_dir, "channel.sock"));
  if (!vm.channel.empty()) fs::mkdir_p(vm.channel.substr(0, vm.channel.rfind('/')), 0700);
  p.launch.restore = dir;
  json disks = json::array();
  for (const auto& d : vm.disks) disks.push_back({{"path", d.path}, {"readonly", d.readonly}});
  std::string net = vm.tap.empty() ? "none" : vm.tap == ("bt-" + p.name).substr(0, 15) ? "tap" : "tap:" + vm.tap;
  p.config = {{"kernel", vm.boot.kernel}, {"initrd", ""},      {"cmdline", vm.boot.cmdline},
              {"cpus", vm.cpus},          {"memory", vm.memory}, {"disks", disks},
              {"net", net},               {"tap", vm.tap},       {"rng", vm.rng},
              {"channel", vm.channel},    {"rm", false},         {"restored_from", dir}};
  return p;
}

}  // namespace berth::engine
