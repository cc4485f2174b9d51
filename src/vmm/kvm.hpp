// Thin RAII layer over the KVM API: the /dev/kvm system fd, one VM fd and its
// vCPU fds with their mmapped kvm_run pages. Every failing ioctl throws a
// berth::Error naming the ioctl and the object.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "vmm/memory.hpp"

namespace berth::vmm {

// <linux/kvm.h> declares the variable-length structs (kvm_cpuid2, kvm_msrs)
// with a flexible-array macro that g++ sizes differently from C, which
// changes the size baked into these ioctl numbers (0xc00cae05 instead of
// 0xc008ae05) and makes KVM answer EINVAL; the entries also move to offset
// 12/16. Use KvmVarHeader (entries at +8) and these ioctl numbers instead.
struct KvmVarHeader {
  uint32_t n, pad;
};
inline constexpr unsigned long kKvmGetSupportedCpuid = _IOWR(KVMIO, 0x05, KvmVarHeader);
inline constexpr unsigned long kKvmSetCpuid2 = _IOW(KVMIO, 0x90, KvmVarHeader);
inline constexpr unsigned long kKvmGetMsrs = _IOWR(KVMIO, 0x88, KvmVarHeader);
inline constexpr unsigned long kKvmSetMsrs = _IOW(KVMIO, 0x89, KvmVarHeader);
// kvm_msr_list and kvm_xsave end in the same flexible-array macro.
struct KvmMsrListHeader {
  uint32_t n;
};
struct KvmXsaveRegion {
  uint32_t region[1024];
};
inline constexpr unsigned long kKvmGetMsrIndexList = _IOWR(KVMIO, 0x02, KvmMsrListHeader);
inline constexpr unsigned long kKvmGetXsave = _IOR(KVMIO, 0xa4, KvmXsaveRegion);
inline constexpr unsigned long kKvmSetXsave = _IOW(KVMIO, 0xa5, KvmXsaveRegion);
inline constexpr unsigned long kKvmGetXsave2 = _IOR(KVMIO, 0xcf, KvmXsaveRegion);

class Kvm {
 public:
  // Opens /dev/kvm; Error Unsupported/NotFound with a clear message if absent.
  Kvm();
  int fd() const { return fd_.get(); }
  int check_extension(int cap) const;
  int vcpu_mmap_size() const;
  // KVM_GET_SUPPORTED_CPUID: all leaves the host and KVM can give a guest.
  std::vector<kvm_cpuid_entry2> supported_cpuid() const;
  // KVM_GET_MSR_INDEX_LIST: the MSRs a vCPU's state is saved through.
  std::vector<uint32_t> msr_index_list() const;

 private:
  UniqueFd fd_;
};

class Vcpu {
 public:
  Vcpu(int vm_fd, int id, int mmap_size);
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;
  ~Vcpu();

  int id() const { return id_; }
  int fd() const { return fd_.get(); }
  kvm_run* run_state() const { return run_; }
  // Returns false if KVM_RUN was interrupted by a signal (EINTR/EAGAIN).
  bool run();

  void ioctl_or_throw(unsigned long req, void* arg, const char* what) const;

 private:
  int id_;
  UniqueFd fd_;
  kvm_run* run_ = nullptr;
  int mmap_size_ = 0;
};

class Vm {
 public:
  explicit Vm(const Kvm& kvm);
  int fd() const { return fd_.get(); }
  // Registers guest RAM, one slot per region (slot i = region i); with
  // log_dirty, KVM logs the pages the vCPUs write (live migration).
  void set_memory(const GuestMemory& mem, bool log_dirty = false);
  // KVM_GET_DIRTY_LOG: the pages of slot written since the last call (a
  // bit per page), which KVM then write-protects again.
  std::vector<uint64_t> dirty_log(uint32_t slot, uint64_t pages) const;
  void create_irqchip_and_pit();
  // Level of an IOAPIC/PIC input line (for the legacy UART interrupt).
  void set_irq_line(uint32_t gsi, bool level) const;
  // An eventfd that, when written, pulses gsi (KVM_IRQFD).
  void add_irqfd(int eventfd, uint32_t gsi) const;
  // An eventfd KVM signals on a guest write to [addr, addr+len) (KVM_IOEVENTFD).
  void add_ioeventfd(int eventfd, uint64_t addr, uint32_t len, bool pio) const;
  std::unique_ptr<Vcpu> create_vcpu(int id) const;
  // kvmclock, the guest's nanoseconds (KVM_GET_CLOCK / KVM_SET_CLOCK).
  uint64_t clock() const;
  void set_clock(uint64_t ns) const;
  const Kvm& kvm() const { return kvm_; }
  void ioctl_or_throw(unsigned long req, void* arg, const char* what) const;

 private:
  const Kvm& kvm_;
  UniqueFd fd_;
};

// A KVM VM with its in-kernel irqchip and PIT: all of a machine that does
// not depend on its config, so berth-vmm makes it while the CLI that
// started it is still preparing the launch config (~0.3 ms off every
// `vm run`, `vm restore` and `vm receive`).
struct KvmVm {
  // The VM only: its irqchip and PIT come after guest memory is set
  // (Machine): made before it, every restore here took ~6 ms longer
  // (bench/vm-snapshot, 2026-12-06 22:50, quiet: 6.9 -> 12.7 ms).
  // KVM_GET_SUPPORTED_CPUID runs on a thread of its own meanwhile: the
  // kernel executes CPUID for every leaf, each a trap to the hypervisor
  // under nested virtualisation (~0.55 ms here, a twelfth of a restore);
  // without a thread to spare it runs when asked for.
  KvmVm() : vm(kvm), cpuid_(std::async(std::launch::async | std::launch::deferred, [this] { return kvm.supported_cpuid(); })) {}
  KvmVm(const KvmVm&) = delete;
  KvmVm& operator=(const KvmVm&) = delete;
  ~KvmVm() {
    if (cpuid_.valid()) cpuid_.wait();  // it uses kvm
  }
  // KVM_GET_SUPPORTED_CPUID's answer (once: waits for the thread).
  std::vector<kvm_cpuid_entry2> supported_cpuid() { return cpuid_.get(); }
  Kvm kvm;
  Vm vm;

 private:
  std::future<std::vector<kvm_cpuid_entry2>> cpuid_;
};

}  // namespace berth::vmm
