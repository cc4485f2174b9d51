// The PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h, used by
// Linux's CONFIG_PVH, qemu -kernel and Firecracker): an ELF kernel names a
// 32-bit entry point in a XEN_ELFNOTE_PHYS32_ENTRY note; the loader puts
// its PT_LOAD segments at their physical addresses and enters it in 32-bit
// protected mode, paging off, with %ebx pointing at struct hvm_start_info.
#include <elf.h>

#include <cstdio>
#include <cstring>

#include "common/error.hpp"
#include "vmm/boot.hpp"
#include "vmm/layout.hpp"

namespace berth::vmm {

namespace {

constexpr uint32_t kPhys32Entry = 18;  // XEN_ELFNOTE_PHYS32_ENTRY
constexpr uint32_t kStartInfoMagic = 0x336ec578;
constexpr uint64_t kStartInfo = layout::kZeroPage;  // unused by a PVH boot
constexpr uint64_t kModlist = kStartInfo + 0x40;
constexpr uint64_t kMemmap = kStartInfo + 0x80;

struct StartInfo {  // struct hvm_start_info, version 1
  uint32_t magic, version, flags, nr_modules;
  uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
  uint32_t memmap_entries, reserved;
};
struct Module {  // struct hvm_modlist_entry
  uint64_t paddr, size, cmdline_paddr, reserved;
};
struct MemmapEntry {  // struct hvm_memmap_table_entry
  uint64_t addr, size;
  uint32_t type, reserved;
};
static_assert(sizeof(StartInfo) == 56 && sizeof(Module) == 32 && sizeof(MemmapEntry) == 24);

std::string hex(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
  return b;
}

// The entry point from the PT_NOTE segments, or 0.
uint64_t find_entry(int fd, const std::vector<Elf64_Phdr>& phdrs, uint64_t fsize, const std::string& what) {
  for (const auto& ph : phdrs) {
    if (ph.p_type != PT_NOTE || ph.p_filesz > 65536 || ph.p_offset > fsize || ph.p_filesz > fsize - ph.p_offset)
      continue;
    std::vector<uint8_t> n(ph.p_filesz);
    read_exact(fd, n.data(), n.size(), ph.p_offset, what);
    for (size_t at = 0; at + 12 <= n.size();) {
      uint32_t namesz, descsz, type;
      std::memcpy(&namesz, &n[at], 4);
      std::memcpy(&descsz, &n[at + 4], 4);
      std::memcpy(&type, &n[at + 8], 4);
      size_t name = at + 12, desc = name + ((namesz + 3ull) & ~3ull);
      if (desc > n.size() || descsz > n.size() - desc) break;
      if (type == kPhys32Entry && namesz == 4 && std::memcmp(&n[name], "Xen", 4) == 0 &&
          (descsz == 4 || descsz == 8)) {
        uint64_t entry = 0;
        std::memcpy(&entry, &n[desc], descsz);
        return entry;
      }
      at = desc + ((descsz + 3ull) & ~3ull);
    }
  }
  return 0;
}

}  // namespace

BootEntry load_pvh(const GuestMemory& mem, const BootImage& img, uint64_t rsdp_addr) {
  uint64_t fsize = 0;
  UniqueFd f = open_boot_file(img.kernel, "kernel", &fsize);
  const std::string what = "kernel " + img.kernel;
  Elf64_Ehdr eh{};
  if (fsize < sizeof eh) fail(what + " is a truncated ELF file");
  read_exact(f.get(), reinterpret_cast<uint8_t*>(&eh), sizeof eh, 0, what);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
    fail(what + " is an ELF file but not x86-64 ELF64; berth vm boots bzImage or PVH ELF kernels",
         ErrorKind::Unsupported);
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 128 || eh.e_phoff > fsize ||
      eh.e_phnum * sizeof(Elf64_Phdr) > fsize - eh.e_phoff)
    fail(what + " has a malformed ELF program header table");
  std::vector<Elf64_Phdr> phdrs(eh.e_phnum);
  read_exact(f.get(), reinterpret_cast<uint8_t*>(phdrs.data()), phdrs.size() * sizeof(Elf64_Phdr), eh.e_phoff, what);

  uint64_t entry = find_entry(f.get(), phdrs, fsize, what);
  if (!entry)
    fail(what + " is an ELF file without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); "
                "boot a bzImage or a kernel built with CONFIG_PVH",
         ErrorKind::Unsupported);
  if (entry >= kMmioHoleStart) fail(what + ": PVH entry point 0x" + hex(entry) + " is not below 3 GiB");

  uint64_t kernel_end = 0;
  for (const auto& ph : phdrs) {
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    uint8_t* dst = mem.ptr(ph.p_paddr, ph.p_memsz);
    if (!dst || ph.p_filesz > ph.p_memsz || ph.p_offset > fsize || ph.p_filesz > fsize - ph.p_offset)
      fail(what + ": segment at 0x" + hex(ph.p_paddr) + " (" + std::to_string(ph.p_memsz) +
           " bytes) does not fit in guest memory or in the file");
    read_exact(f.get(), dst, ph.p_filesz, ph.p_offset, what);
    std::memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    kernel_end = std::max(kernel_end, ph.p_paddr + ph.p_memsz);
  }

  if (img.cmdline.size() > layout::kCmdlineMax - 1)
    fail("command line is " + std::to_string(img.cmdline.size()) + " bytes; at most " +
         std::to_string(layout::kCmdlineMax - 1));
  mem.copy_in(layout::kCmdline, img.cmdline.c_str(), img.cmdline.size() + 1);

  StartInfo si{};
  si.magic = kStartInfoMagic;
  si.version = 1;
  si.cmdline_paddr = layout::kCmdline;
  si.rsdp_paddr = rsdp_addr;
  if (!img.initrd.empty()) {
    uint64_t isize = 0;
    UniqueFd inf = open_boot_file(img.initrd, "initrd", &isize);
    uint64_t top = mem.regions()[0].size;
    if (isize > top || ((top - isize) & ~0xfffull) < std::max(kernel_end, layout::kKernel))
      fail("memory too small: initrd " + img.initrd + " (" + std::to_string(isize) +
           " bytes) does not fit above the kernel");
    uint64_t at = (top - isize) & ~0xfffull;
    if (isize) read_exact(inf.get(), mem.ptr(at, isize), isize, 0, "initrd " + img.initrd);
    Module m{at, isize, 0, 0};
    mem.copy_in(kModlist, &m, sizeof m);
    si.nr_modules = 1;
    si.modlist_paddr = kModlist;
  }
  std::vector<MemmapEntry> map;
  for (const auto& e : memory_map(mem)) map.push_back({e.addr, e.size, e.type, 0});
  mem.copy_in(kMemmap, map.data(), map.size() * sizeof(MemmapEntry));
  si.memmap_paddr = kMemmap;
  si.memmap_entries = static_cast<uint32_t>(map.size());
  mem.copy_in(kStartInfo, &si, sizeof si);

  write_gdt_and_page_tables(mem);  // the GDT the kernel may rely on until it loads its own
  BootEntry b;
  b.rip = entry;
  b.rbx = kStartInfo;
  b.pvh = true;
  return b;
}

}  // namespace berth::vmm
