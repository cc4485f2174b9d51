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
#include "vmm/machine_section.hpp"
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

}  // namespace berth::engine
