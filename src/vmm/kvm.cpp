#include "vmm/kvm.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace berth::vmm {

Kvm::Kvm() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT)
      throw Error("open /dev/kvm: this host has no KVM (load kvm_intel or kvm_amd)",
                  ErrorKind::Unsupported, e);
    throw_errno("open /dev/kvm", e);
  }
  fd_.reset(fd);
  int api = static_cast<int>(::ioctl(fd, KVM_GET_API_VERSION, 0));
  if (api != KVM_API_VERSION)
    fail("/dev/kvm speaks KVM API " + std::to_string(api) + ", need " +
             std::to_string(KVM_API_VERSION),
         ErrorKind::Unsupported);
  for (int cap : {KVM_CAP_IRQCHIP, KVM_CAP_PIT2, KVM_CAP_USER_MEMORY, KVM_CAP_IOEVENTFD,
                  KVM_CAP_IRQFD, KVM_CAP_EXT_CPUID, KVM_CAP_IMMEDIATE_EXIT})
    if (check_extension(cap) <= 0)
      fail("/dev/kvm lacks capability " + std::to_string(cap), ErrorKind::Unsupported);
}

int Kvm::check_extension(int cap) const {
  return static_cast<int>(::ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap));
}

int Kvm::vcpu_mmap_size() const {
  return static_cast<int>(check(::ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0),
                                "KVM_GET_VCPU_MMAP_SIZE on /dev/kvm"));
}

std::vector<kvm_cpuid_entry2> Kvm::supported_cpuid() const {
  for (uint32_t n = 128;; n *= 2) {
    std::vector<uint8_t> buf(sizeof(KvmVarHeader) + n * sizeof(kvm_cpuid_entry2));
    auto* c = reinterpret_cast<KvmVarHeader*>(buf.data());
    c->n = n;
    if (::ioctl(fd_.get(), kKvmGetSupportedCpuid, c) == 0) {
      std::vector<kvm_cpuid_entry2> out(c->n);
      std::memcpy(out.data(), buf.data() + sizeof(KvmVarHeader), c->n * sizeof(kvm_cpuid_entry2));
      return out;
    }
    if (errno != E2BIG || n > 4096) throw_errno("KVM_GET_SUPPORTED_CPUID on /dev/kvm");
  }
}

std::vector<uint32_t> Kvm::msr_index_list() const {
  for (uint32_t n = 256;; n *= 2) {
    std::vector<uint32_t> buf(1 + n);
    buf[0] = n;
    if (::ioctl(fd_.get(), kKvmGetMsrIndexList, buf.data()) == 0)
      return std::vector<uint32_t>(buf.begin() + 1, buf.begin() + 1 + buf[0]);
    if (errno != E2BIG || n > 16384) throw_errno("KVM_GET_MSR_INDEX_LIST on /dev/kvm");
  }
}

Vm::Vm(const Kvm& kvm) : kvm_(kvm) {
  int fd;
  do fd = static_cast<int>(::ioctl(kvm.fd(), KVM_CREATE_VM, 0));
  while (fd < 0 && errno == EINTR);
  check(fd, "KVM_CREATE_VM");
  fd_.reset(fd);
  // Intel needs three pages for the real-mode TSS; harmless elsewhere.
  check(::ioctl(fd, KVM_SET_TSS_ADDR, 0xfffbd000ul), "KVM_SET_TSS_ADDR");
}

void Vm::set_memory(const GuestMemory& mem, bool log_dirty) {
  uint32_t slot = 0;
  for (const auto& r : mem.regions()) {
    kvm_userspace_memory_region m{};
    m.slot = slot++;
    m.flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0;
    m.guest_phys_addr = r.gpa;
    m.memory_size = r.size;
    m.userspace_addr = reinterpret_cast<uint64_t>(r.host);
    check(::ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &m),
          "KVM_SET_USER_MEMORY_REGION for guest RAM slot " + std::to_string(m.slot));
  }
}

std::vector<uint64_t> Vm::dirty_log(uint32_t slot, uint64_t pages) const {
  std::vector<uint64_t> bits((pages + 63) / 64);
  kvm_dirty_log d{};
  d.slot = slot;
  d.dirty_bitmap = bits.data();
  check(::ioctl(fd_.get(), KVM_GET_DIRTY_LOG, &d), "KVM_GET_DIRTY_LOG for guest RAM slot " + std::to_string(slot));
  return bits;
}

void Vm::create_irqchip_and_pit() {
  check(::ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP");
  kvm_pit_config pit{};
  pit.flags = KVM_PIT_SPEAKER_DUMMY;
  check(::ioctl(fd_.get(), KVM_CREATE_PIT2, &pit), "KVM_CREATE_PIT2");
}

void Vm::set_irq_line(uint32_t gsi, bool level) const {
  kvm_irq_level l{};
  l.irq = gsi;
  l.level = level ? 1 : 0;
  check(::ioctl(fd_.get(), KVM_IRQ_LINE, &l), "KVM_IRQ_LINE " + std::to_string(gsi));
}

void Vm::add_irqfd(int eventfd, uint32_t gsi) const {
  kvm_irqfd f{};
  f.fd = static_cast<uint32_t>(eventfd);
  f.gsi = gsi;
  check(::ioctl(fd_.get(), KVM_IRQFD, &f), "KVM_IRQFD for GSI " + std::to_string(gsi));
}

void Vm::add_ioeventfd(int eventfd, uint64_t addr, uint32_t len, bool pio) const {
  kvm_ioeventfd f{};
  f.fd = eventfd;
  f.addr = addr;
  f.len = len;
  f.flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0;
  check(::ioctl(fd_.get(), KVM_IOEVENTFD, &f), "KVM_IOEVENTFD");
}

uint64_t Vm::clock() const {
  kvm_clock_data c{};
  ioctl_or_throw(KVM_GET_CLOCK, &c, "KVM_GET_CLOCK");
  return c.clock;
}

void Vm::set_clock(uint64_t ns) const {
  kvm_clock_data c{};
  c.clock = ns;
  ioctl_or_throw(KVM_SET_CLOCK, &c, "KVM_SET_CLOCK");
}

std::unique_ptr<Vcpu> Vm::create_vcpu(int id) const {
  return std::make_unique<Vcpu>(fd_.get(), id, kvm_.vcpu_mmap_size());
}

Vcpu::Vcpu(int vm_fd, int id, int mmap_size) : id_(id), mmap_size_(mmap_size) {
  fd_.reset(static_cast<int>(check(::ioctl(vm_fd, KVM_CREATE_VCPU, id),
                                   "KVM_CREATE_VCPU " + std::to_string(id))));
  void* p = ::mmap(nullptr, static_cast<size_t>(mmap_size), PROT_READ | PROT_WRITE, MAP_SHARED,
                   fd_.get(), 0);
  if (p == MAP_FAILED) throw_errno("map kvm_run of vCPU " + std::to_string(id));
  run_ = static_cast<kvm_run*>(p);
}

Vcpu::~Vcpu() {
  if (run_) ::munmap(run_, static_cast<size_t>(mmap_size_));
}

bool Vcpu::run() {
  if (::ioctl(fd_.get(), KVM_RUN, 0) == 0) return true;
  if (errno == EINTR || errno == EAGAIN) return false;
  throw_errno("KVM_RUN on vCPU " + std::to_string(id_));
}

void Vm::ioctl_or_throw(unsigned long req, void* arg, const char* what) const {
  if (::ioctl(fd_.get(), req, arg) < 0) throw_errno(std::string(what) + " on the VM");
}

void Vcpu::ioctl_or_throw(unsigned long req, void* arg, const char* what) const {
  if (::ioctl(fd_.get(), req, arg) < 0)
    throw_errno(std::string(what) + " on vCPU " + std::to_string(id_));
}

}  // namespace berth::vmm
