// A micro-VM: KVM VM + guest RAM + vCPU threads + devices, booted from a
// bzImage or restored from a snapshot. The thread that calls run() is the
// VMM's I/O thread; each vCPU has its own thread. run() returns when the
// guest powers off, resets or crashes, or when stop()/end() is called.
//
// Pause parks every vCPU thread outside KVM_RUN (after KVM completed the
// I/O its last exit asked for, so registers are consistent) and pauses each
// device (device_state.hpp); a snapshot is taken only while paused. Every
// device the machine builds is registered under the name its state is
// saved as, so none can be left out of a snapshot.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vmm/boot.hpp"
#include "vmm/bus.hpp"
#include "vmm/event_loop.hpp"
#include "vmm/exit_status.hpp"
#include "vmm/kvm.hpp"
#include "vmm/memory.hpp"
#include "vmm/snapshot_file.hpp"

namespace berth::vmm {

class Serial;
class PciBus;

struct DiskConfig {
  std::string path;
  bool readonly = false;
};

struct VmConfig {
  BootImage boot;
  int cpus = 1;
  uint64_t memory = 256 * kMiB;
  std::vector<DiskConfig> disks;
  std::string tap;           // empty: no network device
  std::string mac;           // guest MAC for virtio-net ("" = derived)
  bool rng = true;
  std::string channel;       // virtio-console socket path ("" = no device)
  // Where the guest's serial console goes.
  std::function<void(const uint8_t*, size_t)> console_out;
};

struct SnapshotStats {
  uint64_t state_bytes = 0;   // DIR/state
  uint64_t memory_bytes = 0;  // RAM written to DIR/memory (zero pages are holes)
  double capture_ms = 0;      // writing while paused (before the callback)
};

// Where a machine's state comes from.
enum class Origin {
  Boot,      // cfg.boot is loaded, the boot CPU starts at its entry
  Snapshot,  // RAM mapped from a snapshot's memory file; then load_state()
  Incoming,  // fresh RAM that a live migration fills; then load_state()
};

class Machine {
 public:
  // For Snapshot and Incoming, cfg names the host files, tap and sockets
  // the devices bind to, and must describe the same machine (CPUs, memory,
  // devices) as the state loaded into it before run().
  // `early`: the KVM VM, if made before the config was known (else made here).
  explicit Machine(VmConfig cfg, Origin origin = Origin::Boot, const std::string& snapshot_memory = "",
                   std::unique_ptr<KvmVm> early = nullptr);
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;
  ~Machine();

  // Starts the vCPUs (start_vcpus()) and serves I/O until the VM ends;
  // returns why. `started` runs on this thread once the vCPUs run (for
  // work that should not delay the guest's start).
  ExitReason run(const std::function<void()>& started = {});
  // From the thread that will call run(), before it. spawn_vcpus() makes
  // the vCPU threads, which wait before their first KVM_RUN (a thread
  // costs ~50 us here: a receiver makes them before the migration's
  // downtime, a restore while the CLI claims the name); start_vcpus()
  // lets them run (and spawns them first if need be). The state must be
  // loaded before start_vcpus(). Both are no-ops the second time.
  void spawn_vcpus();
  void start_vcpus();
  // When a vCPU thread first entered KVM_RUN (steady_clock, i.e.
  // CLOCK_MONOTONIC, in ns): waits for it up to timeout_ms after
  // start_vcpus(); 0 if none did by then (or the VM ended first).
  uint64_t first_run_ns(int timeout_ms) const;
  // Thread-safe; the VM ends with ExitReason::Stopped (fail: Error).
  void stop(std::string why);
  void fail(std::string why);
  void end(ExitReason reason, std::string why);

  // From the I/O thread, while run() runs. pause() returns once every vCPU
  // is parked and every device paused; both are no-ops if already so.
  // pause() fails (FailedPrecondition) if the VM ends meanwhile.
  void pause();
  void resume();
  bool paused() const { return paused_; }
  // Writes the paused machine into dir (created; it must not exist or be
  // empty). `captured` runs once everything is in memory or the page cache
  // (the caller resumes or ends the VM there), before the files are synced
  // and the state file, which marks a complete snapshot, is renamed in.
  // `name` is recorded as the VM's name. On error nothing is left in dir.
  SnapshotStats save_snapshot(const std::string& dir, const std::string& name,
                              const std::function<void()>& captured);
  // Everything but RAM as the sections of a state file (paused only).
  SnapshotWriter capture_state(const std::string& name);
  // Loads what capture_state() wrote (KVM, vCPUs, devices), before run().
  void load_state(const SnapshotReader& snap);
  int cpus() const { return cfg_.cpus; }
  uint64_t memory_size() const { return cfg_.memory; }
  const VmConfig& config() const { return cfg_; }
  Vm& vm() { return vm_; }
  std::string exit_detail() const { return exit_.detail(); }
  // For the monitor: its console and control fds join the VMM's loop.
  EventLoop& loop() { return loop_; }
  void console_input(std::string_view bytes);
  // After run(): closes the devices' host files (disks, tap). The KVM VM
  // and guest RAM go with the Machine.
  void release_backends();
  // Live migration on one host (PciDevice::yield_backend/claim_backend).
  void yield_backends();
  void claim_backends();
  const GuestMemory& memory() const { return *mem_; }

 private:
  void vcpu_loop(Vcpu& vcpu);
  // `settled`: KVM has no I/O of the last exit left to complete.
  void park(Vcpu& vcpu, bool settled);
  void handle_io(Vcpu& vcpu);
  void kick_vcpus();
  // A device on a port range, and in the state registry.
  void add_pio(uint64_t base, uint64_t size, std::unique_ptr<BusDevice> d, const std::string& state_name);
  std::vector<kvm_cpuid_entry2> vcpu_cpuid(int id) const;

  VmConfig cfg_;
  std::unique_ptr<KvmVm> kvm_vm_;
  Kvm& kvm_;
  Vm& vm_;
  std::unique_ptr<GuestMemory> mem_;
  VmExit exit_;
  EventLoop loop_;
  Bus pio_, mmio_;
  std::vector<std::unique_ptr<BusDevice>> devices_;
  Serial* serial_ = nullptr;
  std::unique_ptr<PciBus> pci_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::vector<std::thread> threads_;
  std::vector<kvm_cpuid_entry2> supported_cpuid_;
  // Every device, by the name of its snapshot section ("device/...").
  std::vector<std::pair<std::string, Migratable*>> state_devices_;

  // Pause: the I/O thread sets pause_wanted_ and waits for parked_ to
  // count every vCPU thread; pause_flag_ is what vCPU threads poll.
  std::mutex pause_mu_;
  std::condition_variable pause_cv_;
  bool pause_wanted_ = false;
  int parked_ = 0;
  bool released_ = false;  // start_vcpus() was called
  std::atomic<uint64_t> first_run_ns_{0};
  std::atomic<bool> pause_flag_{false};
  // Written by whoever pauses (the I/O thread, or a migration's thread
  // while the control socket refuses other requests); read by both.
  std::atomic<bool> paused_{false};
  // kvmclock when the vCPUs were parked (pause()), for resume() and snapshots.
  uint64_t paused_clock_ = 0;
};

// "256M", "1G", "512K" or plain bytes; InvalidArgument on anything else.
uint64_t parse_size(const std::string& s);

}  // namespace berth::vmm
