// The guest-physical memory map the VMM builds (same scheme as Firecracker
// and kvmtool, so guests built for those boot here unchanged).
#pragma once

#include <cstdint>

namespace berth::vmm::layout {

inline constexpr uint64_t kGdt = 0x500;
inline constexpr uint64_t kZeroPage = 0x7000;     // struct boot_params
inline constexpr uint64_t kBootStack = 0x8ff0;
inline constexpr uint64_t kPml4 = 0x9000;
inline constexpr uint64_t kPdpt = 0xa000;
inline constexpr uint64_t kPd = 0xb000;           // 4 pages: identity map 0..4 GiB
inline constexpr uint64_t kCmdline = 0x20000;
inline constexpr uint64_t kCmdlineMax = 0x10000;
inline constexpr uint64_t kEbda = 0x9fc00;        // end of low RAM in the e820 map
inline constexpr uint64_t kAcpi = 0xe0000;        // RSDP and tables (BIOS area)
inline constexpr uint64_t kAcpiEnd = 0x100000;
inline constexpr uint64_t kKernel = 0x100000;     // protected-mode kernel load address

inline constexpr uint64_t kPciMmio = 0xd0000000;  // BARs, 16 KiB per device
inline constexpr uint64_t kPciBarSize = 0x4000;
inline constexpr uint64_t kIoapic = 0xfec00000;
inline constexpr uint64_t kLapic = 0xfee00000;

// ACPI fixed-hardware ports (PM1a event and control blocks).
inline constexpr uint16_t kPm1aEvt = 0x600;
inline constexpr uint16_t kPm1aCnt = 0x604;

}  // namespace berth::vmm::layout
