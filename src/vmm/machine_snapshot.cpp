// A Machine to and from a snapshot directory (snapshot_file.hpp): which
// sections a machine has, and the order they are saved and loaded in.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <dirent.h>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "vmm/kvm_state.hpp"
#include "vmm/machine.hpp"
#include "vmm/machine_section.hpp"
#include "vmm/snapshot_file.hpp"

namespace berth::vmm {

namespace {

std::string vcpu_section(int i) { return "vcpu/" + std::to_string(i); }

// Creates dir for a snapshot, or takes an existing empty one; returns
// whether it made it. A snapshot is never written over another: a VM
// restored from one maps its memory file.
bool prepare_dir(const std::string& dir) {
  if (!fs::exists(dir)) {
    fs::mkdir_p(dir, 0700);
    return true;
  }
  if (!fs::is_dir(dir)) fail("snapshot directory " + dir + " is not a directory", ErrorKind::AlreadyExists);
  DIR* d = ::opendir(dir.c_str());
  if (!d) throw_errno("open snapshot directory " + dir);
  bool empty = true;
  while (dirent* e = ::readdir(d))
    if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") empty = false;
  ::closedir(d);
  if (!empty) fail("snapshot directory " + dir + " is not empty", ErrorKind::AlreadyExists);
  return false;
}

}  // namespace

SnapshotStats Machine::save_snapshot(const std::string& dir, const std::string& name,
                                     const std::function<void()>& captured) {
  if (!paused_) berth::fail("save a snapshot of a VM that is not paused", ErrorKind::Internal);
  auto t0 = std::chrono::steady_clock::now();
  bool made = prepare_dir(dir);
  std::string mem_tmp = fs::join(dir, std::string(kSnapshotMemoryFile) + ".tmp");
  std::string mem_path = fs::join(dir, kSnapshotMemoryFile), state_path = fs::join(dir, kSnapshotStateFile);
  SnapshotStats st;
  try {
    UniqueFd mf(::open(mem_tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!mf) throw_errno("create " + mem_tmp);
    st.memory_bytes = mem_->save_to(mf.get(), mem_tmp);
    SnapshotWriter w = capture_state(name);
    st.capture_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (captured) captured();

    check(::fsync(mf.get()), "fsync " + mem_tmp);
    mf.reset();
    check(::rename(mem_tmp.c_str(), mem_path.c_str()), "rename " + mem_tmp + " to " + mem_path);
    st.state_bytes = w.write(state_path);
  } catch (...) {
    for (const auto& p : {mem_tmp, mem_path, state_path}) ::unlink(p.c_str());
    if (made) ::rmdir(dir.c_str());
    throw;
  }
  return st;
}

SnapshotWriter Machine::capture_state(const std::string& name) {
  if (!paused_) berth::fail("save the state of a VM that is not paused", ErrorKind::Internal);
  SnapshotWriter w;
  w.add("machine", machine_section(cfg_, *mem_, name));
  nlohmann::json kvm;
  save_vm_state(vm_, paused_clock_, kvm);
  w.add("kvm", std::move(kvm));
  for (int i = 0; i < cfg_.cpus; ++i) {
    nlohmann::json v;
    save_vcpu_state(vm_, *vcpus_[static_cast<size_t>(i)], vcpu_cpuid(i), v);
    w.add(vcpu_section(i), std::move(v));
  }
  for (auto& [section, d] : state_devices_) {
    nlohmann::json j;
    d->save(j);
    w.add(section, std::move(j));
  }
  return w;
}

void Machine::load_state(const SnapshotReader& snap) {
  const std::string& dir = snap.dir();
  // Checked as the CLI checked it (a float count read with value() would
  // be undefined behaviour): the file may have changed since.
  VmConfig m = parse_machine_section(snap.section("machine"), "snapshot " + dir).vm;
  if (m.cpus != cfg_.cpus || m.memory != cfg_.memory)
    berth::fail("snapshot " + dir + " is of a machine with " + std::to_string(m.cpus) + " CPUs and " +
                    std::to_string(m.memory) + " bytes of RAM, not " + std::to_string(cfg_.cpus) + " and " +
                    std::to_string(cfg_.memory),
                ErrorKind::Corrupt);

  // Each section belongs to a part of this machine, and each part has one.
  std::set<std::string> parts = {"machine", "kvm"};
  for (int i = 0; i < cfg_.cpus; ++i) parts.insert(vcpu_section(i));
  for (const auto& [section, d] : state_devices_) parts.insert(section);
  for (const auto& n : snap.names())
    if (!parts.count(n))
      berth::fail("snapshot " + dir + " holds state for " + n +
                      ", which this machine does not have (was it taken with other devices?)",
                  ErrorKind::Corrupt);
  for (const auto& n : parts)
    if (!snap.has(n)) berth::fail("snapshot " + dir + " has no state for " + n, ErrorKind::Corrupt);

  load_vm_state(vm_, snap.section("kvm"));
  for (int i = 0; i < cfg_.cpus; ++i)
    load_vcpu_state(vm_, *vcpus_[static_cast<size_t>(i)], vcpu_cpuid(i), snap.section(vcpu_section(i)));
  for (auto& [section, d] : state_devices_) d->load(snap.section(section));
}

}  // namespace berth::vmm
