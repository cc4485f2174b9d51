// Micro-VMs as objects users name: records in <root>/berth.db (table vms),
// one `berth-vmm` process per VM (vmm/vmm_process.hpp; foreground, or
// detached with the console in <root>/vms/<name>/console.log and a console
// socket under <state>/vms/<name>/), and the lifecycle verbs of `berth vm`.
//
// The VMM touches no database: this class records its pid when it starts
// it, and the VM's end either from the VMM's "exit" report (foreground) or,
// whenever a record is read, from the exit record the VMM leaves in
// <root>/vms/<name>/exit.json (detached, or a CLI that died). A running VM
// is driven through its VMM's control socket (vmm/control.hpp): pause,
// resume, snapshot; restore starts a VMM that carries on from a snapshot.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include <nlohmann/json.hpp>

#include "common/sqlite.hpp"
#include "vmm/launch.hpp"


namespace berth::engine {

struct VmSpec {
  std::string name;
  std::string kernel, initrd, cmdline;
  int cpus = 1;
  std::string memory = "256M";
  std::vector<std::string> disks;  // PATH[,ro]
  std::string net = "none";        // none | tap | tap:NAME | NETWORK (engine/vm_network.hpp)
  std::string mac;
  bool rng = true;
  std::string channel;             // "" | unix | unix:PATH (virtio-console)
  bool remove = false;             // --rm: the record goes when the VM ends
  // Set: receive a live migration on this tcp:HOST:PORT instead of booting
  // (`vm receive`); token_file holds the token the source must give.
  std::string incoming, token_file;
  // Set: carry on from the snapshot in this directory (`vm restore`); the
  // machine comes from the snapshot, and of the fields above only name
  // counts (default: the name the VM had).
  std::string restore_from;
};

// A row of `berth vm ls`.
struct VmRecord {
  std::string name;
  std::string state;  // running, paused, stopped(REASON), dead
  int cpus = 0;
  uint64_t memory = 0;
  pid_t pid = 0;      // 0 unless running or paused
  std::string created;
  std::string address;  // on a network (--net NETWORK), else ""
};

struct VmMigrateOptions {
  std::string to;          // tcp:HOST:PORT of a `vm receive`
  std::string token_file;  // what the receiver asks for, if anything
  double max_downtime_ms = 50;
  int max_rounds = 30;
  uint64_t max_bandwidth = 0;  // bytes/s of the stream; 0: no limit
};

struct VmMigrateResult {
  double total_ms = 0, downtime_ms = 0;
  double setup_ms = 0;  // until the receiver had built the VM
  double sent_ms = 0;   // paused until the last byte left (qemu's "downtime")
  double heard_ms = 0;  // paused until the source heard "running" (>= downtime)
  uint64_t bytes = 0;
  int rounds = 0;
};

struct VmSnapshotResult {
  std::string dir;
  uint64_t state_bytes = 0, memory_bytes = 0;
  double pause_ms = 0;  // how long the guest did not run
};

class VmManager {
 public:
  VmManager(std::string root, std::string state);
  ~VmManager();

  // Runs the VM with the console on this terminal; returns the exit code
  // (0 for guest poweroff/reset or a stop, 1 for a crash or VMM error).
  int run_foreground(const VmSpec& spec);
  // Starts the VM in a detached monitor; returns its name once it booted.
  std::string run_detached(const VmSpec& spec);

  std::vector<VmRecord> list();
  std::string inspect(const std::string& name);
  void pause(const std::string& name);
  void resume(const std::string& name);
  // Writes the VM to dir (must not exist, or be empty); with stop, ends it
  // (reason "snapshotted") once the snapshot is complete.
  VmSnapshotResult snapshot(const std::string& name, const std::string& dir, bool stop);
  // Live migration to a `vm receive`; the VM ends here (reason "migrated")
  // once it runs there. A signal (Ctrl-C) aborts it, as cancel_migration()
  // does from elsewhere: the VM then runs on here.
  VmMigrateResult migrate(const std::string& name, const VmMigrateOptions& o);
  void cancel_migration(const std::string& name);
  // The console log of a detached VM, chunk by chunk; with follow, until
  // the VM ends.
  void logs(const std::string& name, bool follow, const std::function<void(std::string_view)>& out);
  void stop(const std::string& name, bool kill);
  void remove(const std::string& name);
  void console(const std::string& name);
  // An ext4 disk image holding `from`: a rootfs directory or an image of
  // the store (reference or ID), built from its layers.
  void create_disk(const std::string& from, const std::string& size, const std::string& out);

 private:
  struct Prepared {
    std::string name;
    vmm::LaunchConfig launch;
    nlohmann::json config;
    std::string dir, log_path, sock_path;
    std::string state_dir;        // <state>/vms/NAME: sockets
    bool made_state_dir = false;  // by this start (removed if it fails)
    bool made_dir = false;        // <root>/vms/NAME, likewise
    std::string network;          // --net NETWORK: attached after the name is claimed
    std::string mac;
    std::string address;          // restore: the address the guest has (its network's, again)
  };
  struct Spawned {
    pid_t pid = -1;
    UniqueFd report, go;
  };
  struct Started {
    Prepared p;
    Spawned vmm;
  };
  Prepared prepare(const VmSpec& spec, bool detached);
  Prepared prepare_restore(const VmSpec& spec, bool detached);
  Prepared prepare_incoming(const VmSpec& spec, bool detached);
  // A received VM's record gets its machine once the VMM wrote it.
  void fold_incoming(const std::string& name);
  // Names, paths and the cgroup of p.name into p.
  void place(Prepared& p, bool detached);
  // InvalidArgument naming the option (`vm run`: memory_text is what was
  // typed) or the snapshot if this host cannot give a VM that many CPUs or
  // that much RAM.
  static void check_fits(int cpus, uint64_t memory, const std::string& memory_text, const std::string& snapshot);
  void claim(const Prepared& p, pid_t pid);
  static Spawned spawn(bool detached);
  Started start(const VmSpec& spec, bool detached);
  [[noreturn]] void failed_start(const std::string& verb, const std::string& name, pid_t pid,
                                 const std::optional<vmm::Report>& r);
  // The record and directories of a VM that has ended (for --rm).
  void discard(const std::string& name);
  // The running VMM of `name`, or FailedPrecondition "vm NAME is not running".
  struct Running {
    pid_t pid;
    std::string start;
  };
  Running running(const std::string& name);
  // Waits (up to 10 s) until VMM pid (started at `start`) has exited.
  void wait_vmm_gone(const std::string& name, pid_t pid, const std::string& start);
  std::string control_socket(const std::string& name) const;
  std::string live_state(const std::string& name);  // running or paused
  // Marks the record of the VMM `pid` stopped (no-op if it is not running).
  void finish(const std::string& name, pid_t pid, const std::string& reason, const std::string& detail,
              const std::string& finished = "");
  void forget(const std::string& name);
  void reconcile(const std::string& name);
  // --net NETWORK: the lease and the tap, into the launch config and the
  // record (claimed already: the tap's name is the VM's).
  void attach_network(Prepared& p);
  // restore: p.network/address/mac if the snapshot's VM was on a network.
  void find_network_of_restore(Prepared& p);
  // The VM's tap goes (the VM has ended); with release, its lease too.
  void detach_network(const std::string& name, bool release);
  bool monitor_alive(const std::string& name);
  // VMM `pid` is still the process started at `start` (not a recycled pid) and not a zombie.
  static bool vmm_alive(pid_t pid, const std::string& start);
  Database& db();
  std::string cgroup_name(const std::string& name) const;
  std::string exit_file(const std::string& name) const;
  std::string vm_dir(const std::string& name) const;        // <root>/vms/NAME: log, exit record
  std::string vm_state_dir(const std::string& name) const;  // <state>/vms/NAME: sockets
  void remove_dirs(const std::string& name) const;
  static std::string vmm_executable();
  static std::string berth_executable();
  static std::string random_name();  // vm-XXXXXX
  static std::string verb(const VmSpec& s) {
    return !s.restore_from.empty() ? "restore" : !s.incoming.empty() ? "receive" : "run";
  }

  std::string root_, state_;
  std::unique_ptr<Database> db_;
};

}  // namespace berth::engine
