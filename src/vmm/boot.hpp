// Loading a Linux kernel the way the x86 boot protocol (Documentation/
// arch/x86/boot.rst) describes for a 64-bit boot loader: the protected-mode
// part of a bzImage at 1 MiB, a boot_params zero page with the setup header,
// an e820 map, the command line and the initrd, then entry at load+0x200 in
// long mode with identity-mapped page tables and a GDT (__BOOT_CS=0x10,
// __BOOT_DS=0x18). An ELF kernel with a PVH note goes to load_pvh().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "vmm/memory.hpp"

namespace berth::vmm {

struct BootImage {
  std::string kernel;    // path of a bzImage
  std::string initrd;    // optional
  std::string cmdline;
};

struct BootEntry {
  uint64_t rip = 0;
  uint64_t rsi = 0;      // boot_params
  uint64_t rbx = 0;      // PVH: struct hvm_start_info
  bool pvh = false;      // enter in 32-bit protected mode, paging off
};

// Throws InvalidArgument naming the file if it is not a 64-bit bzImage
// (Unsupported for an ELF without a PVH note).
BootEntry load_linux(const GuestMemory& mem, const BootImage& img, uint64_t rsdp_addr);
// An ELF64 kernel with XEN_ELFNOTE_PHYS32_ENTRY: PT_LOAD segments at their
// physical addresses, struct hvm_start_info (command line, initrd module,
// memory map, RSDP) at the zero page's address.
BootEntry load_pvh(const GuestMemory& mem, const BootImage& img, uint64_t rsdp_addr);

// Shared by the loaders.
struct E820Entry {
  uint64_t addr, size;
  uint32_t type;  // 1 RAM, 2 reserved
};
std::vector<E820Entry> memory_map(const GuestMemory& mem);
UniqueFd open_boot_file(const std::string& path, const char* what, uint64_t* size);
void read_exact(int fd, uint8_t* dst, uint64_t len, uint64_t off, const std::string& what);

// GDT and page tables for the 64-bit entry.
void write_gdt_and_page_tables(const GuestMemory& mem);

// Setup-header fields (offsets in the bzImage and in boot_params).
namespace hdr {
inline constexpr uint32_t kSetupSects = 0x1f1;
inline constexpr uint32_t kBootFlag = 0x1fe;
inline constexpr uint32_t kHeader = 0x202;
inline constexpr uint32_t kVersion = 0x206;
inline constexpr uint32_t kTypeOfLoader = 0x210;
inline constexpr uint32_t kLoadflags = 0x211;
inline constexpr uint32_t kRamdiskImage = 0x218;
inline constexpr uint32_t kRamdiskSize = 0x21c;
inline constexpr uint32_t kHeapEndPtr = 0x224;
inline constexpr uint32_t kCmdLinePtr = 0x228;
inline constexpr uint32_t kInitrdAddrMax = 0x22c;
inline constexpr uint32_t kXloadflags = 0x236;
inline constexpr uint32_t kCmdlineSize = 0x238;
inline constexpr uint32_t kInitSize = 0x260;
inline constexpr uint32_t kEnd = 0x268 + 4;
}  // namespace hdr

// boot_params fields outside the header.
namespace bp {
inline constexpr uint32_t kAcpiRsdpAddr = 0x070;
inline constexpr uint32_t kExtRamdiskImage = 0x0c0;
inline constexpr uint32_t kExtRamdiskSize = 0x0c4;
inline constexpr uint32_t kExtCmdLinePtr = 0x0c8;
inline constexpr uint32_t kE820Entries = 0x1e8;
inline constexpr uint32_t kE820Table = 0x2d0;
inline constexpr uint32_t kE820Max = 128;
}  // namespace bp

}  // namespace berth::vmm
