// KVM's own part of a machine's state, saved and loaded through the KVM API:
//  - of the VM: the in-kernel irqchip (PIC master and slave, IOAPIC), the
//    PIT and kvmclock;
//  - of each vCPU: general and special registers, FPU/SSE/AVX state
//    (XSAVE, or the legacy FPU area where KVM has no XSAVE), XCRs, the local
//    APIC, every MSR KVM lists (KVM_GET_MSR_INDEX_LIST), pending
//    exceptions/interrupts/NMIs (vCPU events), MP state (running, halted,
//    waiting for SIPI), debug registers, and the CPUID it was given.
// Saved while the vCPUs are parked with no I/O pending (Machine::pause).
// Loaded into a freshly built VM before any vCPU runs, in the order KVM
// needs (CPUID before anything: the Machine sets it when it makes the
// vCPU, out of a migration's downtime; MSRs before the LAPIC, whose load
// resets its timer; the TSC-deadline MSR after it).
#pragma once

#include <linux/kvm.h>

#include <vector>

#include "vmm/device_state.hpp"
#include "vmm/kvm.hpp"

namespace berth::vmm {

// `clock`: kvmclock as it read when the vCPUs stopped (Machine::pause).
void save_vm_state(const Vm& vm, uint64_t clock, StateJson& out);
void load_vm_state(const Vm& vm, const StateJson& in);

// `cpuid` is what the vCPU was given (guest_cpuid()).
void save_vcpu_state(const Vm& vm, const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& cpuid, StateJson& out);
// `cpuid` was set on the vCPU already (set_vcpu_cpuid). Unsupported if the
// snapshot's CPUID is not `cpuid`, what this host gives the same vCPU: a
// guest that saw other CPU features may use ones this host lacks.
void load_vcpu_state(const Vm& vm, const Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& cpuid,
                     const StateJson& in);

}  // namespace berth::vmm
