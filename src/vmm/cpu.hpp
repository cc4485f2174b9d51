// Per-vCPU state at power-on: CPUID (KVM's supported set, with a sane
// topology of `count` single-thread cores in one package), MSRs, local APIC
// LINT0/LINT1 wiring, and for the boot CPU the 64-bit register state of the
// Linux boot protocol (or, for a PVH kernel, 32-bit protected mode).
#pragma once

#include <linux/kvm.h>

#include <vector>

#include "vmm/boot.hpp"
#include "vmm/kvm.hpp"

namespace berth::vmm {

std::vector<kvm_cpuid_entry2> guest_cpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                          int cpu, int count);

void set_vcpu_cpuid(const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& leaves);
void setup_vcpu(const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& supported, int count);
void setup_boot_cpu_registers(const Vcpu& vcpu, const BootEntry& entry);

}  // namespace berth::vmm
