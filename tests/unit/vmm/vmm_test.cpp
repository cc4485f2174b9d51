// VMM pieces that need no /dev/kvm: sizes, guest memory bounds, the bzImage
// loader's zero page, ACPI tables, virtqueue parsing of hostile rings, CPUID
// topology.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "common/error.hpp"
#include "guests/tiny_bzimage.hpp"
#include "test_support.hpp"
#include "vmm/acpi.hpp"
#include "vmm/boot.hpp"
#include "vmm/cpu.hpp"
#include "vmm/devices/virtqueue.hpp"
#include "vmm/layout.hpp"
#include "vmm/machine.hpp"

namespace berth::vmm {
namespace {

TEST(ParseSize, UnitsAndErrors) {
  EXPECT_EQ(parse_size("256M"), 256ull << 20);
  EXPECT_EQ(parse_size("1G"), 1ull << 30);
  EXPECT_EQ(parse_size("512K"), 512ull << 10);
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_THROW(parse_size("12X"), Error);
  EXPECT_THROW(parse_size(""), Error);
  EXPECT_THROW(parse_size("M"), Error);
  EXPECT_THROW(parse_size("99999999999T"), Error);
}

TEST(GuestMemory, SplitsAroundThePciHoleAndChecksBounds) {
  GuestMemory m(4 * kGiB);
  ASSERT_EQ(m.regions().size(), 2u);
  EXPECT_EQ(m.regions()[0].size, 3 * kGiB);
  EXPECT_EQ(m.regions()[1].gpa, 4 * kGiB);
  EXPECT_EQ(m.regions()[1].size, 1 * kGiB);
  EXPECT_NE(m.ptr(0, 4096), nullptr);
  EXPECT_NE(m.ptr(3 * kGiB - 8, 8), nullptr);
  EXPECT_EQ(m.ptr(3 * kGiB - 4, 8), nullptr);   // crosses into the hole
  EXPECT_EQ(m.ptr(3 * kGiB, 1), nullptr);       // in the hole
  EXPECT_NE(m.ptr(5 * kGiB - 1, 1), nullptr);
  EXPECT_EQ(m.ptr(5 * kGiB, 1), nullptr);
  EXPECT_EQ(m.ptr(~0ull - 4, 16), nullptr);     // wraps
  EXPECT_THROW(GuestMemory(1 << 20), Error);
}

TEST(BootLoader, FillsTheZeroPage) {
  std::string img = testing::build_dir() + "/guests/boot_params.bzimage";
  if (::access(img.c_str(), R_OK) != 0) GTEST_SKIP() << "guests not built";
  GuestMemory m(64 * kMiB);
  BootEntry e = load_linux(m, {img, "", "console=ttyS0 x=1"}, 0xe0000);
  EXPECT_EQ(e.rip, 0x100200u);
  EXPECT_EQ(e.rsi, layout::kZeroPage);
  const uint8_t* zp = m.ptr(layout::kZeroPage, 4096);
  EXPECT_EQ(zp[hdr::kTypeOfLoader], 0xff);
  uint32_t cmd;
  std::memcpy(&cmd, zp + hdr::kCmdLinePtr, 4);
  EXPECT_STREQ(reinterpret_cast<const char*>(m.ptr(cmd, 18)), "console=ttyS0 x=1");
  EXPECT_EQ(zp[bp::kE820Entries], 4);
  uint64_t rsdp;
  std::memcpy(&rsdp, zp + bp::kAcpiRsdpAddr, 8);
  EXPECT_EQ(rsdp, 0xe0000u);
  // The 64-bit entry point's bytes are in place: cli.
  EXPECT_EQ(*m.ptr(0x100200, 1), 0xfa);
}

TEST(BootLoader, EntersAPvhElfThroughItsNote) {
  std::string img = testing::build_dir() + "/guests/pvh.elf";
  if (::access(img.c_str(), R_OK) != 0) GTEST_SKIP() << "guests not built";
  GuestMemory m(64 * kMiB);
  BootEntry e = load_linux(m, {img, "", "pvh x=1"}, 0xe0000);
  EXPECT_TRUE(e.pvh);
  EXPECT_EQ(e.rip, 0x100000u);  // entry32, first in .text
  EXPECT_EQ(e.rbx, layout::kZeroPage);
  EXPECT_EQ(*m.read<uint32_t>(e.rbx), 0x336ec578u);
  EXPECT_EQ(*m.read<uint64_t>(e.rbx + 32), 0xe0000u);  // rsdp_paddr
  uint64_t cmd = *m.read<uint64_t>(e.rbx + 24);
  EXPECT_STREQ(reinterpret_cast<const char*>(m.ptr(cmd, 8)), "pvh x=1");
  EXPECT_EQ(*m.read<uint32_t>(e.rbx + 48), 4u);  // memmap entries
  EXPECT_EQ(*m.ptr(0x100000, 1), 0xfa);  // cli at entry32
}

TEST(BootLoader, RejectsWhatIsNotABzImage) {
  testing::TempDir d;
  GuestMemory m(64 * kMiB);
  auto write = [&](const std::string& name, const std::string& data) {
    std::ofstream(d / name, std::ios::binary) << data;
    return d / name;
  };
  try {
    load_linux(m, {write("junk", std::string(8192, 'x')), "", ""}, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("is not a Linux bzImage"), std::string::npos);
  }
  std::string elf(8192, '\0');
  elf.replace(0, 4, "\x7f" "ELF");
  try {
    load_linux(m, {write("elf", elf), "", ""}, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  }
  try {
    load_linux(m, {"/bin/true", "", ""}, 0);  // ELF64 with no PVH note
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("without a PVH entry note"), std::string::npos) << e.what();
  }
  try {
    load_linux(m, {d / "absent", "", ""}, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  }
}

// The boot protocol needs only the setup header and a protected-mode part,
// however small: a 1.6 KiB image loads (it was refused as "too small").
TEST(BootLoader, TakesAnImageSmallerThanAPage) {
  testing::TempDir d;
  GuestMemory m(64 * kMiB);
  std::string img = testing::tiny_bzimage();
  ASSERT_LT(img.size(), 4096u);
  std::ofstream(d / "tiny", std::ios::binary) << img;
  BootEntry e = load_linux(m, {d / "tiny", "", "console=ttyS0"}, 0xe0000);
  EXPECT_EQ(e.rip, 0x100200u);
  EXPECT_EQ(std::memcmp(m.ptr(0x100000, img.size() - 0x400), img.data() + 0x400, img.size() - 0x400), 0);

  std::ofstream(d / "header-only", std::ios::binary) << img.substr(0, 0x400);
  try {
    load_linux(m, {d / "header-only", "", ""}, 0);
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("is truncated (no protected-mode part)"), std::string::npos) << err.what();
  }
  std::ofstream(d / "stub", std::ios::binary) << img.substr(0, 0x200);
  try {
    load_linux(m, {d / "stub", "", ""}, 0);
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("(512 bytes, too small to hold a setup header)"), std::string::npos)
        << err.what();
  }
}

uint8_t sum(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i) s = static_cast<uint8_t>(s + p[i]);
  return s;
}

TEST(Acpi, TablesChecksumAndListEveryCpu) {
  GuestMemory m(16 * kMiB);
  uint64_t rsdp = write_acpi_tables(m, 5);
  const uint8_t* r = m.ptr(rsdp, 36);
  ASSERT_EQ(std::memcmp(r, "RSD PTR ", 8), 0);
  EXPECT_EQ(sum(r, 20), 0);
  EXPECT_EQ(sum(r, 36), 0);
  uint64_t xsdt_addr;
  std::memcpy(&xsdt_addr, r + 24, 8);
  const uint8_t* x = m.ptr(xsdt_addr, 36);
  uint32_t xlen;
  std::memcpy(&xlen, x + 4, 4);
  EXPECT_EQ(sum(x, xlen), 0);
  int lapics = -1;
  for (uint32_t o = 36; o < xlen; o += 8) {
    uint64_t t;
    std::memcpy(&t, x + o, 8);
    const uint8_t* tab = m.ptr(t, 36);
    uint32_t len;
    std::memcpy(&len, tab + 4, 4);
    EXPECT_EQ(sum(tab, len), 0);
    if (std::memcmp(tab, "APIC", 4) == 0) {
      lapics = 0;
      for (uint32_t e = 44; e < len; e += tab[e + 1])
        if (tab[e] == 0) ++lapics;
    }
  }
  EXPECT_EQ(lapics, 5);
}

class VirtqueueTest : public ::testing::Test {
 protected:
  GuestMemory m{16 * kMiB};
  Virtqueue q;
  void SetUp() override {
    q.size = 8;
    q.enabled = true;
    q.desc = 0x10000;
    q.avail = 0x11000;
    q.used = 0x12000;
  }
  void desc(int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    m.write<uint64_t>(q.desc + 16 * i, addr);
    m.write<uint32_t>(q.desc + 16 * i + 8, len);
    m.write<uint16_t>(q.desc + 16 * i + 12, flags);
    m.write<uint16_t>(q.desc + 16 * i + 14, next);
  }
  void offer(uint16_t idx, uint16_t head) {
    m.write<uint16_t>(q.avail + 4 + 2 * (idx % 8), head);
    m.write<uint16_t>(q.avail + 2, static_cast<uint16_t>(idx + 1));
  }
};

TEST_F(VirtqueueTest, GoodChainThenUsed) {
  desc(0, 0x20000, 16, 1, 1);
  desc(1, 0x21000, 512, 2, 0);
  offer(0, 0);
  uint16_t head;
  std::vector<Virtqueue::Buf> bufs;
  ASSERT_EQ(q.pop(m, &head, &bufs), Virtqueue::Pop::Ok);
  ASSERT_EQ(bufs.size(), 2u);
  EXPECT_TRUE(bufs[1].device_writes);
  EXPECT_EQ(q.pop(m, &head, &bufs), Virtqueue::Pop::Empty);
  ASSERT_TRUE(q.push(m, head, 512));
  EXPECT_EQ(*m.read<uint16_t>(q.used + 2), 1);
  EXPECT_EQ(*m.read<uint32_t>(q.used + 8), 512u);
}

TEST_F(VirtqueueTest, HostileRingsAndChains) {
  uint16_t head;
  std::vector<Virtqueue::Buf> bufs;
  desc(0, 0x20000, 16, 1, 0);  // points at itself: a loop
  offer(0, 0);
  EXPECT_EQ(q.pop(m, &head, &bufs), Virtqueue::Pop::BadChain);
  desc(1, 0x7fff00000000ull, 16, 0, 0);  // buffer outside RAM
  offer(1, 1);
  EXPECT_EQ(q.pop(m, &head, &bufs), Virtqueue::Pop::BadChain);
  offer(2, 200);  // head index beyond the ring
  EXPECT_EQ(q.pop(m, &head, &bufs), Virtqueue::Pop::BadChain);
  m.write<uint16_t>(q.avail + 2, 100);  // driver claims 97 new buffers in an 8-entry ring
  EXPECT_EQ(q.pop(m, &head, &bufs), Virtqueue::Pop::BadRing);
  q.avail = 16 * kMiB - 2;  // ring straddles the end of RAM
  EXPECT_EQ(q.pop(m, &head, &bufs), Virtqueue::Pop::BadRing);
  q.used = 1ull << 40;
  EXPECT_FALSE(q.push(m, 0, 0));
}

TEST(Cpuid, TopologyMatchesTheCpuCount) {
  std::vector<kvm_cpuid_entry2> supported(3);
  supported[0].function = 0;
  supported[0].eax = 0xd;
  supported[1].function = 1;
  supported[2].function = 0xb;
  auto out = guest_cpuid(supported, 2, 4);
  bool saw_core_level = false;
  for (const auto& e : out) {
    if (e.function == 1) {
      EXPECT_EQ(e.ebx >> 24, 2u);
      EXPECT_EQ((e.ebx >> 16) & 0xff, 4u);
      EXPECT_TRUE(e.ecx & (1u << 31));
    }
    if (e.function == 0xb && e.index == 1) {
      saw_core_level = true;
      EXPECT_EQ(e.ebx, 4u);
      EXPECT_EQ(e.eax, 2u);
      EXPECT_EQ(e.edx, 2u);
    }
  }
  EXPECT_TRUE(saw_core_level);
}

}  // namespace
}  // namespace berth::vmm
