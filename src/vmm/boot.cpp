#include "vmm/boot.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "vmm/layout.hpp"

namespace berth::vmm {

namespace {

template <class T>
T get(const uint8_t* p, uint32_t off) {
  T v;
  std::memcpy(&v, p + off, sizeof v);
  return v;
}
template <class T>
void put(uint8_t* p, uint32_t off, T v) {
  std::memcpy(p + off, &v, sizeof v);
}

}  // namespace

UniqueFd open_boot_file(const std::string& path, const char* what, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    throw Error(std::string("open ") + what + " " + path + ": " + std::strerror(e),
                e == ENOENT ? ErrorKind::NotFound : ErrorKind::InvalidArgument, e);
  }
  UniqueFd f(fd);
  struct stat st{};
  check(::fstat(fd, &st), std::string("stat ") + what + " " + path);
  if (!S_ISREG(st.st_mode)) fail(std::string(what) + " " + path + " is not a regular file");
  *size = static_cast<uint64_t>(st.st_size);
  return f;
}

void read_exact(int fd, uint8_t* dst, uint64_t len, uint64_t off, const std::string& what) {
  while (len) {
    ssize_t n = ::pread(fd, dst, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read " + what);
    if (n == 0) fail("read " + what + ": file is truncated", ErrorKind::InvalidArgument);
    dst += n;
    len -= static_cast<uint64_t>(n);
    off += static_cast<uint64_t>(n);
  }
}

std::vector<E820Entry> memory_map(const GuestMemory& mem) {
  uint64_t low_end = mem.regions()[0].size;
  std::vector<E820Entry> map = {{0, layout::kEbda, 1},
                                {layout::kEbda, 0xa0000 - layout::kEbda, 2},
                                {layout::kAcpi, layout::kAcpiEnd - layout::kAcpi, 2},
                                {layout::kKernel, low_end - layout::kKernel, 1}};
  if (mem.regions().size() > 1) map.push_back({mem.regions()[1].gpa, mem.regions()[1].size, 1});
  return map;
}

void write_gdt_and_page_tables(const GuestMemory& mem) {
  // null, null, __BOOT_CS (64-bit code), __BOOT_DS, TSS (16 bytes).
  const uint64_t gdt[6] = {0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull,
                           0x00008b0000000067ull, 0};
  mem.copy_in(layout::kGdt, gdt, sizeof gdt);
  // Identity map of the first 4 GiB with 2 MiB pages: RAM below the hole and
  // the BARs, IOAPIC and LAPIC above it.
  uint64_t pml4 = layout::kPdpt | 0x3;
  mem.copy_in(layout::kPml4, &pml4, 8);
  for (uint64_t i = 0; i < 4; ++i) {
    uint64_t pdpte = (layout::kPd + i * 0x1000) | 0x3;
    mem.copy_in(layout::kPdpt + i * 8, &pdpte, 8);
  }
  std::vector<uint64_t> pd(4 * 512);
  for (uint64_t i = 0; i < pd.size(); ++i) pd[i] = (i << 21) | 0x83;  // P|RW|PS
  mem.copy_in(layout::kPd, pd.data(), pd.size() * 8);
}

BootEntry load_linux(const GuestMemory& mem, const BootImage& img, uint64_t rsdp_addr) {
  uint64_t ksize = 0;
  UniqueFd kf = open_boot_file(img.kernel, "kernel", &ksize);
  const std::string& kp = img.kernel;
  // The boot protocol needs the setup header, nothing more: the
  // protected-mode part is whatever follows the setup sectors, however
  // small (as qemu's loader, which also ignores syssize, takes it).
  uint8_t head[0x1000] = {};
  read_exact(kf.get(), head, std::min<uint64_t>(ksize, sizeof head), 0, "kernel " + kp);
  if (ksize >= 4 && std::memcmp(head, "\x7f" "ELF", 4) == 0) return load_pvh(mem, img, rsdp_addr);
  if (ksize < hdr::kEnd)
    fail("kernel " + kp + " is not a Linux bzImage (" + std::to_string(ksize) +
         " bytes, too small to hold a setup header)");
  if (get<uint16_t>(head, hdr::kBootFlag) != 0xaa55 ||
      std::memcmp(head + hdr::kHeader, "HdrS", 4) != 0)
    fail("kernel " + kp + " is not a Linux bzImage (no boot sector signature or HdrS header)");
  uint16_t version = get<uint16_t>(head, hdr::kVersion);
  if (version < 0x020c)
    fail("kernel " + kp + " speaks boot protocol " + std::to_string(version >> 8) + "." +
             std::to_string(version & 0xff) + "; 2.12 or later is needed for a 64-bit entry",
         ErrorKind::Unsupported);
  if (!(get<uint16_t>(head, hdr::kXloadflags) & 1))  // XLF_KERNEL_64
    fail("kernel " + kp + " has no 64-bit entry point (XLF_KERNEL_64 unset)", ErrorKind::Unsupported);
  if (!(head[hdr::kLoadflags] & 1))  // LOADED_HIGH
    fail("kernel " + kp + " is a zImage, not a bzImage", ErrorKind::Unsupported);

  uint32_t setup_sects = head[hdr::kSetupSects] ? head[hdr::kSetupSects] : 4;
  uint64_t setup_size = (setup_sects + 1) * 512ull;
  if (setup_size >= ksize) fail("kernel " + kp + " is truncated (no protected-mode part)");
  uint64_t payload = ksize - setup_size;
  uint64_t init_size = std::max<uint64_t>(get<uint32_t>(head, hdr::kInitSize), payload);
  uint64_t low_end = mem.regions()[0].size;
  if (layout::kKernel + init_size > low_end)
    fail("memory too small: kernel " + kp + " needs " + std::to_string((init_size >> 20) + 2) +
         " MiB above 1 MiB");
  read_exact(kf.get(), mem.ptr(layout::kKernel, payload), payload, setup_size, "kernel " + kp);

  // The zero page: setup header copied from the image, then our fields.
  uint8_t* zp = mem.ptr(layout::kZeroPage, 0x1000);
  std::memset(zp, 0, 0x1000);
  uint32_t hdr_end = std::min<uint32_t>(hdr::kEnd, 0x202 + head[0x201]);
  std::memcpy(zp + hdr::kSetupSects, head + hdr::kSetupSects, hdr_end - hdr::kSetupSects);
  zp[hdr::kTypeOfLoader] = 0xff;
  zp[hdr::kLoadflags] |= 0x80;  // CAN_USE_HEAP
  put<uint16_t>(zp, hdr::kHeapEndPtr, 0xfe00);

  uint32_t cmdline_max = get<uint32_t>(head, hdr::kCmdlineSize);
  if (cmdline_max == 0 || cmdline_max > layout::kCmdlineMax - 1) cmdline_max = layout::kCmdlineMax - 1;
  if (img.cmdline.size() > cmdline_max)
    fail("command line is " + std::to_string(img.cmdline.size()) + " bytes; kernel " + kp +
         " accepts at most " + std::to_string(cmdline_max));
  mem.copy_in(layout::kCmdline, img.cmdline.c_str(), img.cmdline.size() + 1);
  put<uint32_t>(zp, hdr::kCmdLinePtr, static_cast<uint32_t>(layout::kCmdline));
  put<uint32_t>(zp, bp::kExtCmdLinePtr, 0);
  if (version >= 0x020e) put<uint64_t>(zp, bp::kAcpiRsdpAddr, rsdp_addr);

  if (!img.initrd.empty()) {
    uint64_t isize = 0;
    UniqueFd inf = open_boot_file(img.initrd, "initrd", &isize);
    uint64_t max = get<uint32_t>(head, hdr::kInitrdAddrMax);
    if (max == 0) max = 0x37ffffff;
    uint64_t top = std::min<uint64_t>(low_end, max + 1);
    uint64_t kernel_end = layout::kKernel + init_size;
    if (isize > top || ((top - isize) & ~0xfffull) < kernel_end)
      fail("memory too small: initrd " + img.initrd + " (" + std::to_string(isize) +
           " bytes) does not fit above the kernel");
    uint64_t at = (top - isize) & ~0xfffull;
    if (isize) read_exact(inf.get(), mem.ptr(at, isize), isize, 0, "initrd " + img.initrd);
    put<uint32_t>(zp, hdr::kRamdiskImage, static_cast<uint32_t>(at));
    put<uint32_t>(zp, hdr::kRamdiskSize, static_cast<uint32_t>(isize));
    put<uint32_t>(zp, bp::kExtRamdiskImage, static_cast<uint32_t>(at >> 32));
    put<uint32_t>(zp, bp::kExtRamdiskSize, static_cast<uint32_t>(isize >> 32));
  }

  std::vector<E820Entry> map = memory_map(mem);
  zp[bp::kE820Entries] = static_cast<uint8_t>(map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    uint32_t off = bp::kE820Table + static_cast<uint32_t>(i) * 20;
    put<uint64_t>(zp, off, map[i].addr);
    put<uint64_t>(zp, off + 8, map[i].size);
    put<uint32_t>(zp, off + 16, map[i].type);
  }

  write_gdt_and_page_tables(mem);
  return {layout::kKernel + 0x200, layout::kZeroPage};
}

}  // namespace berth::vmm
