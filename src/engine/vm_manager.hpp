// Micro-VMs as objects users name: records in <root>/berth.db (table vms),
// the VMM process as each VM's monitor (foreground, or detached with the
// console in <root>/vms/<name>/console.log and a console socket under
// <state>/vms/<name>/), and the lifecycle verbs of `berth vm`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/sqlite.hpp"

namespace berth::engine {

struct VmSpec {
  std::string name;
  std::string kernel, initrd, cmdline;
  int cpus = 1;
  std::string memory = "256M";
  std::vector<std::string> disks;  // PATH[,ro]
  std::string net = "none";        // none | tap | tap:NAME
  std::string mac;
  bool rng = true;
  std::string channel;             // "" | unix | unix:PATH (virtio-console)
};

class VmManager {
 public:
  VmManager(std::string root, std::string state);

  // Runs the VM with the console on this terminal; returns the exit code
  // (0 for guest poweroff/reset or a stop, 1 for a crash or VMM error).
  int run_foreground(const VmSpec& spec);
  // Starts the VM in a detached monitor; returns its name once it booted.
  std::string run_detached(const VmSpec& spec);

  std::string format_list();
  std::string inspect(const std::string& name);
  void stop(const std::string& name, bool kill);
  void remove(const std::string& name);
  void console(const std::string& name);
  void create_disk(const std::string& from, const std::string& size, const std::string& out);

 private:
  struct Prepared;
  Prepared prepare(const VmSpec& spec);
  int serve(Prepared& p, bool detached, int ready_fd);
  void finish(const std::string& name, const std::string& reason, const std::string& detail);
  bool monitor_alive(const std::string& name);
  void open_db();
  std::string cgroup_name(const std::string& name) const;

  std::string root_, state_;
  // A pointer: closed before fork, reopened on both sides after.
  std::unique_ptr<Database> db_;
};

}  // namespace berth::engine
