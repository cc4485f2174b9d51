#include "vmm/machine.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/log.hpp"
#include "vmm/acpi.hpp"
#include "vmm/cpu.hpp"
#include "vmm/devices/pci.hpp"
#include "vmm/devices/serial.hpp"
#include "vmm/devices/system_control.hpp"
#include "vmm/devices/virtio_pci.hpp"
#include "vmm/layout.hpp"
#include "vmm/snapshot_file.hpp"
#include "vmm/trace.hpp"

namespace berth::vmm {

namespace {

constexpr int kKickSignal = SIGUSR1;

void install_kick_handler() {
  struct sigaction sa{};
  sa.sa_handler = [](int) {};  // only to interrupt KVM_RUN
  sigemptyset(&sa.sa_mask);
  ::sigaction(kKickSignal, &sa, nullptr);
}

// A port that reads as zero and ignores writes (POST code port 0x80, CMOS).
class Quiet : public BusDevice {
 public:
  void read(uint64_t, uint8_t* d, uint32_t len) override { store_le(d, len, 0); }
  void write(uint64_t, const uint8_t*, uint32_t) override {}
  void save(StateJson& out) override { out = StateJson::object(); }
  void load(const StateJson&) override {}
};

std::string hex_port(uint64_t p) {
  char b[24];
  snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(p));
  return b;
}

const uint8_t kPciIrqs[] = {5, 10, 11, 12, 14, 15};

uint64_t steady_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

}  // namespace

uint64_t parse_size(const std::string& s) {
  if (s.empty()) fail("empty size");
  size_t used = 0;
  unsigned long long v;
  try {
    v = std::stoull(s, &used, 10);
  } catch (...) {
    fail("invalid size '" + s + "' (use e.g. 256M, 1G)");
  }
  std::string unit = s.substr(used);
  uint64_t mult = 1;
  if (unit == "" || unit == "B") mult = 1;
  else if (unit == "K" || unit == "k" || unit == "KiB") mult = 1ull << 10;
  else if (unit == "M" || unit == "m" || unit == "MiB") mult = 1ull << 20;
  else if (unit == "G" || unit == "g" || unit == "GiB") mult = 1ull << 30;
  else if (unit == "T" || unit == "t" || unit == "TiB") mult = 1ull << 40;
  else fail("invalid size '" + s + "' (use e.g. 256M, 1G)");
  if (v > (~0ull) / mult) fail("size '" + s + "' is too large");
  return v * mult;
}

void Machine::add_pio(uint64_t base, uint64_t size, std::unique_ptr<BusDevice> d, const std::string& state_name) {
  pio_.add(base, size, d.get());
  state_devices_.emplace_back("device/" + state_name + " " + hex_port(base), d.get());
  devices_.push_back(std::move(d));
}

Machine::Machine(VmConfig cfg, Origin origin, const std::string& snapshot_memory, std::unique_ptr<KvmVm> early)
    : cfg_(std::move(cfg)),
      kvm_vm_(early ? std::move(early) : std::make_unique<KvmVm>()),
      kvm_(kvm_vm_->kvm),
      vm_(kvm_vm_->vm) {
  if (cfg_.cpus < 1 || cfg_.cpus > 64) berth::fail("--cpus must be between 1 and 64");
  bool boot = origin == Origin::Boot;
  mem_ = origin == Origin::Snapshot ? std::make_unique<GuestMemory>(cfg_.memory, snapshot_memory)
                                    : std::make_unique<GuestMemory>(cfg_.memory);
  trace("M mapped");
  // Before the irqchip and PIT (kvm.hpp, KvmVm). The one part of a restore
  // that grows with RAM here: a shadow-paging KVM (PVM, tdp_mmu=N) fills
  // its rmap and write-tracking arrays for every page of the slot now,
  // 5 MiB for 2 GiB, ~2 ms (docs/performance.md, vm-snapshot).
  vm_.set_memory(*mem_);
  trace("M memslot");
  vm_.create_irqchip_and_pit();

  // A restored or received guest has its ACPI tables and kernel in its RAM.
  BootEntry entry;
  if (boot) entry = load_linux(*mem_, cfg_.boot, write_acpi_tables(*mem_, cfg_.cpus));

  auto serial = std::make_unique<Serial>(cfg_.console_out,
                                         [this](bool level) { vm_.set_irq_line(4, level); });
  serial_ = serial.get();
  add_pio(0x3f8, 8, std::move(serial), "serial");
  add_pio(0x60, 5, std::make_unique<I8042>(exit_), "i8042");
  add_pio(0xcf9, 1, std::make_unique<ResetControl>(exit_), "reset");
  add_pio(layout::kPm1aEvt, 6, std::make_unique<AcpiPm>(exit_), "acpi-pm");
  add_pio(0x80, 1, std::make_unique<Quiet>(), "port");
  add_pio(0x70, 2, std::make_unique<Quiet>(), "port");

  pci_ = std::make_unique<PciBus>();
  pio_.add(0xcf8, 8, pci_.get());
  state_devices_.emplace_back("device/pci-config 0xcf8", pci_.get());
  pci_->mmio().base = kMmioHoleStart;
  mmio_.add(kMmioHoleStart, layout::kIoapic - kMmioHoleStart, &pci_->mmio());

  VirtioContext vctx{vm_, *mem_, loop_};
  auto add_virtio = [&](std::unique_ptr<VirtioPciDevice> d) {
    int slot = static_cast<int>(pci_->devices().size());
    if (slot > static_cast<int>(std::size(kPciIrqs))) berth::fail("too many devices for one VM");
    uint32_t bar = static_cast<uint32_t>(layout::kPciMmio + (slot - 1) * layout::kPciBarSize);
    d->attach(vctx, bar, kPciIrqs[slot - 1]);
    pci_->add(std::move(d));
  };
  if (cfg_.rng) add_virtio(make_virtio_rng());
  for (const auto& disk : cfg_.disks)
    add_virtio(make_virtio_blk(disk.path, disk.readonly, origin == Origin::Incoming));
  if (!cfg_.tap.empty()) add_virtio(make_virtio_net(cfg_.tap, cfg_.mac));
  if (!cfg_.channel.empty()) add_virtio(make_virtio_console(cfg_.channel));

  for (size_t slot = 0; slot < pci_->devices().size(); ++slot) {
    PciDevice* d = pci_->devices()[slot].get();
    char name[64];
    snprintf(name, sizeof name, "device/pci 00:%02zx.0 %s", slot, d->ids().c_str());
    state_devices_.emplace_back(name, d);
  }

  supported_cpuid_ = kvm_vm_->supported_cpuid();
  for (int i = 0; i < cfg_.cpus; ++i) {
    auto v = vm_.create_vcpu(i);
    if (boot) {
      setup_vcpu(*v, supported_cpuid_, cfg_.cpus);
      if (i == 0) setup_boot_cpu_registers(*v, entry);
    } else {
      // Now, not in load_state(): KVM_SET_CPUID2 takes ~0.1 ms here, which
      // a receiver would otherwise spend in the migration's downtime.
      // load_state() checks the snapshot's CPUID against it.
      set_vcpu_cpuid(*v, vcpu_cpuid(i));
    }
    vcpus_.push_back(std::move(v));
  }
}

std::vector<kvm_cpuid_entry2> Machine::vcpu_cpuid(int id) const {
  return guest_cpuid(supported_cpuid_, id, cfg_.cpus);
}

Machine::~Machine() {
  if (!threads_.empty()) {
    exit_.request(ExitReason::Stopped, "VMM shutting down");
    kick_vcpus();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
}

void Machine::console_input(std::string_view bytes) { serial_->receive(bytes); }

void Machine::release_backends() {
  for (const auto& d : pci_->devices()) d->release_backend();
}

void Machine::yield_backends() {
  for (const auto& d : pci_->devices()) d->yield_backend();
}

void Machine::claim_backends() {
  for (const auto& d : pci_->devices()) d->claim_backend();
}

void Machine::fail(std::string why) {
  exit_.request(ExitReason::Error, std::move(why));
}

void Machine::stop(std::string why) {
  exit_.request(ExitReason::Stopped, std::move(why));
}

void Machine::end(ExitReason reason, std::string why) { exit_.request(reason, std::move(why)); }

void Machine::kick_vcpus() {
  for (size_t i = 0; i < vcpus_.size(); ++i) {
    vcpus_[i]->run_state()->immediate_exit = 1;
    if (i < threads_.size()) ::pthread_kill(threads_[i].native_handle(), kKickSignal);
  }
  // Parked vCPUs wake for the end of the VM too.
  std::lock_guard<std::mutex> l(pause_mu_);
  pause_cv_.notify_all();
}

void Machine::pause() {
  if (paused_) return;
  {
    std::lock_guard<std::mutex> l(pause_mu_);
    pause_wanted_ = true;
    pause_flag_ = true;
  }
  kick_vcpus();
  {
    // The end of the VM does not notify: poll for it.
    std::unique_lock<std::mutex> l(pause_mu_);
    while (parked_ < static_cast<int>(threads_.size()) && !exit_.done())
      pause_cv_.wait_for(l, std::chrono::milliseconds(10));
  }
  if (exit_.done()) berth::fail("the VM ended (" + exit_.detail() + ")", ErrorKind::FailedPrecondition);
  // The guest's clock stands still while it is paused, as under qemu's
  // stop/cont: resume() sets kvmclock back to this, and a snapshot records
  // it, so the guest sees no jump in its monotonic time. (Its wall clock is
  // then behind by the pause, as after a laptop's suspend; NTP or the guest
  // agent of the user's choice corrects it.)
  paused_clock_ = vm_.clock();
  for (auto& [name, d] : state_devices_) d->pause();
  paused_ = true;
}

void Machine::resume() {
  if (!paused_) return;
  vm_.set_clock(paused_clock_);
  // Devices first: what they serve on resume may interrupt the guest,
  // which is fine once the vCPUs run.
  for (auto& [name, d] : state_devices_) d->resume();
  {
    std::lock_guard<std::mutex> l(pause_mu_);
    pause_wanted_ = false;
    pause_flag_ = false;
  }
  pause_cv_.notify_all();
  paused_ = false;
}

// KVM completes the I/O or MMIO read an exit asked for only on the next
// KVM_RUN, so registers read before that would miss it. With immediate_exit
// set, KVM_RUN completes it and returns at once (EINTR): then the vCPU is
// in a state that can be saved, and waits here until resumed or ended.
// A KVM_RUN that returned EINTR (the kick's signal) left nothing to
// complete, so a vCPU kicked out of guest code or HLT, the usual case,
// skips that extra KVM_RUN (tens of us of the pause under PVM).
void Machine::park(Vcpu& vcpu, bool settled) {
  kvm_run* r = vcpu.run_state();
  if (!settled) {
    r->immediate_exit = 1;
    vcpu.run();
  }
  r->immediate_exit = 0;
  std::unique_lock<std::mutex> l(pause_mu_);
  ++parked_;
  pause_cv_.notify_all();
  pause_cv_.wait(l, [&] { return !pause_wanted_ || exit_.done(); });
  --parked_;
}

void Machine::spawn_vcpus() {
  if (!threads_.empty()) return;
  install_kick_handler();
  // vCPU threads take the kick signal; the I/O thread never does.
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, kKickSignal);
  pthread_sigmask(SIG_BLOCK, &kick, nullptr);
  for (auto& v : vcpus_) {
    Vcpu* vp = v.get();
    threads_.emplace_back([this, vp] {
      sigset_t s;
      sigemptyset(&s);
      sigaddset(&s, kKickSignal);
      pthread_sigmask(SIG_UNBLOCK, &s, nullptr);
      {
        std::unique_lock<std::mutex> l(pause_mu_);
        pause_cv_.wait(l, [&] { return released_ || exit_.done(); });
      }
      try {
        vcpu_loop(*vp);
      } catch (const Error& e) {
        exit_.request(ExitReason::Error, e.what());
      }
    });
  }
}

uint64_t Machine::first_run_ns(int timeout_ms) const {
  uint64_t until = steady_ns() + static_cast<uint64_t>(timeout_ms) * 1000000;
  while (!first_run_ns_ && !exit_.done() && steady_ns() < until) sched_yield();  // a vCPU thread's wake-up: us
  return first_run_ns_;
}

void Machine::start_vcpus() {
  spawn_vcpus();
  {
    std::lock_guard<std::mutex> l(pause_mu_);
    released_ = true;
  }
  pause_cv_.notify_all();
}

ExitReason Machine::run(const std::function<void()>& started) {
  start_vcpus();
  bool exited = false;
  loop_.add(exit_.fd(), [&] { exited = true; });
  if (started) started();
  while (!exited) loop_.run_once(-1);
  kick_vcpus();
  for (auto& t : threads_) t.join();
  threads_.clear();
  return exit_.reason();
}

void Machine::handle_io(Vcpu& vcpu) {
  kvm_run* r = vcpu.run_state();
  auto* base = reinterpret_cast<uint8_t*>(r);
  uint8_t* data = base + r->io.data_offset;
  for (uint32_t i = 0; i < r->io.count; ++i, data += r->io.size) {
    if (r->io.direction == KVM_EXIT_IO_OUT) pio_.write(r->io.port, data, r->io.size);
    else pio_.read(r->io.port, data, r->io.size);
  }
}

void Machine::vcpu_loop(Vcpu& vcpu) {
  kvm_run* r = vcpu.run_state();
  bool settled = true;  // no exit whose I/O KVM has yet to complete
  uint64_t none = 0;
  first_run_ns_.compare_exchange_strong(none, steady_ns());
  while (!exit_.done()) {
    if (pause_flag_.load(std::memory_order_acquire)) {
      park(vcpu, settled);
      settled = true;
      continue;
    }
    settled = !vcpu.run();
    if (settled) {
      r->immediate_exit = 0;
      continue;
    }
    switch (r->exit_reason) {
      case KVM_EXIT_IO:
        handle_io(vcpu);
        break;
      case KVM_EXIT_MMIO:
        if (r->mmio.is_write) mmio_.write(r->mmio.phys_addr, r->mmio.data, r->mmio.len);
        else mmio_.read(r->mmio.phys_addr, r->mmio.data, r->mmio.len);
        break;
      case KVM_EXIT_HLT:
        exit_.request(ExitReason::Crash, "vCPU " + std::to_string(vcpu.id()) + " halted");
        break;
      case KVM_EXIT_SHUTDOWN:
        exit_.request(ExitReason::Crash,
                      "guest triple-faulted on vCPU " + std::to_string(vcpu.id()) + " (CPU shutdown)");
        break;
      case KVM_EXIT_SYSTEM_EVENT:
        if (r->system_event.type == KVM_SYSTEM_EVENT_RESET)
          exit_.request(ExitReason::Reset, "guest requested a system reset");
        else if (r->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
          exit_.request(ExitReason::Poweroff, "guest powered off");
        else
          exit_.request(ExitReason::Crash, "guest reported a crash (system event " +
                                               std::to_string(r->system_event.type) + ")");
        break;
      case KVM_EXIT_FAIL_ENTRY:
        exit_.request(ExitReason::Error,
                      "KVM could not enter vCPU " + std::to_string(vcpu.id()) +
                          " (hardware entry failure reason 0x" +
                          [&] { char b[32]; snprintf(b, sizeof b, "%llx", (unsigned long long)r->fail_entry.hardware_entry_failure_reason); return std::string(b); }() + ")");
        break;
      case KVM_EXIT_INTERNAL_ERROR: {
        kvm_regs regs{};
        kvm_sregs sregs{};
        ::ioctl(vcpu.fd(), KVM_GET_REGS, &regs);
        ::ioctl(vcpu.fd(), KVM_GET_SREGS, &sregs);
        char b[256];
        int n = snprintf(b, sizeof b, "KVM internal error on vCPU %d (suberror %u) at rip 0x%llx (cr0 0x%llx efer 0x%llx)",
                         vcpu.id(), r->internal.suberror, (unsigned long long)regs.rip,
                         (unsigned long long)sregs.cr0, (unsigned long long)sregs.efer);
        // For an emulation failure KVM passes the instruction bytes along.
        if (r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && r->emulation_failure.ndata >= 3 &&
            (r->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
          const uint8_t* bytes = r->emulation_failure.insn_bytes;
          uint32_t len = std::min<uint32_t>(r->emulation_failure.insn_size, 15);
          n += snprintf(b + n, sizeof b - static_cast<size_t>(n), ", instruction");
          for (uint32_t i = 0; i < len && n < 240; ++i)
            n += snprintf(b + n, sizeof b - static_cast<size_t>(n), " %02x", bytes[i]);
        }
        exit_.request(ExitReason::Crash, b);
        break;
      }
      case KVM_EXIT_INTR:
        break;
      default:
        exit_.request(ExitReason::Error, "unexpected KVM exit reason " +
                                              std::to_string(r->exit_reason) + " on vCPU " +
                                              std::to_string(vcpu.id()));
    }
  }
}

}  // namespace berth::vmm
