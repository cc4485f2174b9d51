// A micro-VM: KVM VM + guest RAM + vCPU threads + devices, booted from a
// bzImage. The thread that calls run() is the VMM's I/O thread; each vCPU has
// its own thread. run() returns when the guest powers off, resets or
// crashes, or when stop() is called.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "vmm/boot.hpp"
#include "vmm/bus.hpp"
#include "vmm/event_loop.hpp"
#include "vmm/exit_status.hpp"
#include "vmm/kvm.hpp"
#include "vmm/memory.hpp"

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

class Machine {
 public:
  explicit Machine(VmConfig cfg);
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;
  ~Machine();

  // Starts the vCPUs and serves I/O until the VM ends; returns why.
  // `started` runs on this thread once the vCPU threads exist (for work
  // that should not delay the guest's start).
  ExitReason run(const std::function<void()>& started = {});
  // Thread-safe; the VM ends with ExitReason::Stopped (fail: Error).
  void stop(std::string why);
  void fail(std::string why);
  std::string exit_detail() const { return exit_.detail(); }
  // For the monitor: its console and control fds join the VMM's loop.
  EventLoop& loop() { return loop_; }
  void console_input(std::string_view bytes);
  // After run(): closes the devices' host files (disks, tap). The KVM VM
  // and guest RAM go with the Machine.
  void release_backends();
  const GuestMemory& memory() const { return *mem_; }

 private:
  void vcpu_loop(Vcpu& vcpu);
  void handle_io(Vcpu& vcpu);
  void kick_vcpus();

  VmConfig cfg_;
  Kvm kvm_;
  Vm vm_;
  std::unique_ptr<GuestMemory> mem_;
  VmExit exit_;
  EventLoop loop_;
  Bus pio_, mmio_;
  std::vector<std::unique_ptr<BusDevice>> devices_;
  Serial* serial_ = nullptr;
  std::unique_ptr<PciBus> pci_;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::vector<std::thread> threads_;
};

// "256M", "1G", "512K" or plain bytes; InvalidArgument on anything else.
uint64_t parse_size(const std::string& s);

}  // namespace berth::vmm
