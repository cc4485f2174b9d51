#include "vmm/cpu.hpp"

#include <sys/ioctl.h>

#include <cstring>

#include "common/error.hpp"
#include "common/log.hpp"
#include "vmm/layout.hpp"

namespace berth::vmm {

std::vector<kvm_cpuid_entry2> guest_cpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                          int cpu, int count) {
  uint32_t apic = static_cast<uint32_t>(cpu);
  uint32_t n = static_cast<uint32_t>(count);
  uint32_t shift = 0;
  while ((1u << shift) < n) ++shift;
  std::vector<kvm_cpuid_entry2> out;
  for (auto e : supported) {
    switch (e.function) {
      case 1:
        e.ebx = (e.ebx & 0x0000ffff) | (n << 16) | (apic << 24);
        e.ecx |= 1u << 31;  // hypervisor present
        if (n > 1) e.edx |= 1u << 28; else e.edx &= ~(1u << 28);
        break;
      case 4:  // cache topology: every cache private to a core, n cores
        e.eax = (e.eax & 0x3ff) | ((n - 1) << 26);
        break;
      case 6:  // no thermal/power management
        e.eax = e.ebx = e.ecx = e.edx = 0;
        break;
      case 0xa:  // no PMU exposed
        e.eax = e.ebx = e.ecx = e.edx = 0;
        break;
      case 0xb:
      case 0x1f:
        // KVM reports only subleaf 0; the whole topology is generated below.
        if (e.index == 0) {
          for (uint32_t sub = 0; sub < 3; ++sub) {
            kvm_cpuid_entry2 t = e;
            t.index = sub;
            t.flags |= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
            if (sub == 0) {        // SMT level: one thread per core
              t.eax = 0; t.ebx = 1; t.ecx = (1u << 8);
            } else if (sub == 1) { // core level: n cores in the package
              t.eax = shift; t.ebx = n; t.ecx = (2u << 8) | 1;
            } else {
              t.eax = 0; t.ebx = 0; t.ecx = sub;
            }
            t.edx = apic;
            out.push_back(t);
          }
        }
        continue;
      default:
        break;
    }
    out.push_back(e);
  }
  return out;
}

void set_vcpu_cpuid(const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& leaves) {
  std::vector<uint8_t> buf(sizeof(KvmVarHeader) + leaves.size() * sizeof(kvm_cpuid_entry2));
  auto* c = reinterpret_cast<KvmVarHeader*>(buf.data());
  c->n = static_cast<uint32_t>(leaves.size());
  std::memcpy(buf.data() + sizeof(KvmVarHeader), leaves.data(), leaves.size() * sizeof(kvm_cpuid_entry2));
  vcpu.ioctl_or_throw(kKvmSetCpuid2, c, "KVM_SET_CPUID2");
}

void setup_vcpu(const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& supported, int count) {
  set_vcpu_cpuid(vcpu, guest_cpuid(supported, vcpu.id(), count));

  struct Msr { uint32_t index; uint64_t value; };
  const Msr msrs[] = {
      {0x1a0, 1},                  // IA32_MISC_ENABLE: fast strings
      {0x2ff, (1u << 11) | 6},     // MTRRdefType: MTRRs on, default write-back
      {0x174, 0}, {0x175, 0}, {0x176, 0},  // SYSENTER_CS/ESP/EIP
      {0xc0000081, 0}, {0xc0000082, 0}, {0xc0000084, 0},  // STAR, LSTAR, FMASK
      {0xc0000102, 0},             // KERNEL_GS_BASE
  };
  std::vector<uint8_t> mb(sizeof(KvmVarHeader) + std::size(msrs) * sizeof(kvm_msr_entry));
  auto* m = reinterpret_cast<KvmVarHeader*>(mb.data());
  m->n = static_cast<uint32_t>(std::size(msrs));
  auto* entries = reinterpret_cast<kvm_msr_entry*>(mb.data() + sizeof(KvmVarHeader));
  for (size_t i = 0; i < std::size(msrs); ++i) {
    entries[i].index = msrs[i].index;
    entries[i].data = msrs[i].value;
  }
  int set = ::ioctl(vcpu.fd(), kKvmSetMsrs, m);
  if (set < 0) throw_errno("KVM_SET_MSRS on vCPU " + std::to_string(vcpu.id()));
  if (static_cast<size_t>(set) != std::size(msrs))
    log::debug("KVM accepted " + std::to_string(set) + " of " + std::to_string(std::size(msrs)) +
               " boot MSRs (stopped at 0x" + std::to_string(msrs[set].index) + ")");

  // LINT0 = ExtINT (the PIC), LINT1 = NMI, as a BIOS leaves them.
  kvm_lapic_state lapic{};
  vcpu.ioctl_or_throw(KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC");
  auto set_lvt = [&](uint32_t off, uint32_t mode) {
    uint32_t v;
    std::memcpy(&v, lapic.regs + off, 4);
    v = (v & ~0x700u & ~(1u << 16)) | (mode << 8);
    std::memcpy(lapic.regs + off, &v, 4);
  };
  set_lvt(0x350, 7);
  set_lvt(0x360, 4);
  vcpu.ioctl_or_throw(KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC");
}

void setup_boot_cpu_registers(const Vcpu& vcpu, const BootEntry& entry) {
  kvm_sregs s{};
  vcpu.ioctl_or_throw(KVM_GET_SREGS, &s, "KVM_GET_SREGS");
  kvm_segment code{};
  code.base = 0;
  code.limit = 0xffffffff;
  code.selector = 0x10;
  code.type = 0xb;
  code.present = 1;
  code.s = 1;
  code.l = 1;
  code.g = 1;
  kvm_segment data = code;
  data.selector = 0x18;
  data.type = 0x3;
  data.l = 0;
  data.db = 1;
  s.cs = code;
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.tr = {};
  s.tr.selector = 0x20;
  s.tr.limit = 0x67;
  s.tr.type = 0xb;
  s.tr.present = 1;
  s.gdt.base = layout::kGdt;
  s.gdt.limit = 6 * 8 - 1;
  s.idt.base = 0;
  s.idt.limit = 0;
  s.cr0 = 0x80010033;  // PG|WP|NE|ET|MP|PE
  s.cr3 = layout::kPml4;
  s.cr4 = 0x620;       // OSXMMEXCPT|OSFXSR|PAE
  s.efer = 0x500;      // LMA|LME
  if (entry.pvh) {
    // PVH: flat 32-bit code and data segments, protected mode, paging off.
    s.cs.l = 0;
    s.cs.db = 1;
    s.cr0 = 0x11;      // ET|PE
    s.cr3 = 0;
    s.cr4 = 0;
    s.efer = 0;
  }
  vcpu.ioctl_or_throw(KVM_SET_SREGS, &s, "KVM_SET_SREGS");

  kvm_regs r{};
  r.rip = entry.rip;
  r.rsi = entry.rsi;
  r.rbx = entry.rbx;
  r.rsp = r.rbp = layout::kBootStack;
  r.rflags = 2;
  vcpu.ioctl_or_throw(KVM_SET_REGS, &r, "KVM_SET_REGS");

  kvm_fpu f{};
  f.fcw = 0x37f;
  f.mxcsr = 0x1f80;
  vcpu.ioctl_or_throw(KVM_SET_FPU, &f, "KVM_SET_FPU");
}

}  // namespace berth::vmm
