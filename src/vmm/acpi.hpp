// Minimal ACPI tables in the BIOS area: RSDP -> XSDT -> {FADT -> DSDT, MADT}.
// The MADT lists one local APIC per vCPU and the IOAPIC (Debian's cloud
// kernels have no MP-table parser, so SMP needs this); the FADT describes the
// PM1a blocks (poweroff) and the reset register; the DSDT only holds \_S5.
#pragma once

#include <cstdint>

#include "vmm/memory.hpp"

namespace berth::vmm {

// Writes the tables; returns the RSDP address.
uint64_t write_acpi_tables(const GuestMemory& mem, int cpus);

}  // namespace berth::vmm
