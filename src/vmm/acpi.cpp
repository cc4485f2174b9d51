#include "vmm/acpi.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "vmm/layout.hpp"

namespace berth::vmm {

namespace {

class Table {
 public:
  explicit Table(const char* sig, uint8_t rev) : b_(36, 0) {
    std::memcpy(b_.data(), sig, 4);
    b_[8] = rev;
    std::memcpy(b_.data() + 10, "BERTH ", 6);
    std::memcpy(b_.data() + 16, "BERTHVM ", 8);
    put32(24, 1);
    std::memcpy(b_.data() + 28, "BRTH", 4);
    put32(32, 1);
  }
  void u8(uint8_t v) { b_.push_back(v); }
  void u16(uint16_t v) { bytes(&v, 2); }
  void u32(uint32_t v) { bytes(&v, 4); }
  void u64(uint64_t v) { bytes(&v, 8); }
  void bytes(const void* p, size_t n) {
    auto* c = static_cast<const uint8_t*>(p);
    b_.insert(b_.end(), c, c + n);
  }
  void pad_to(size_t n) { b_.resize(n, 0); }
  void put8(size_t off, uint8_t v) { b_[off] = v; }
  void put16(size_t off, uint16_t v) { std::memcpy(b_.data() + off, &v, 2); }
  void put32(size_t off, uint32_t v) { std::memcpy(b_.data() + off, &v, 4); }
  void put64(size_t off, uint64_t v) { std::memcpy(b_.data() + off, &v, 8); }
  // Generic address structure in system I/O space.
  void put_gas_io(size_t off, uint8_t bits, uint8_t access, uint64_t addr) {
    b_[off] = 1;
    b_[off + 1] = bits;
    b_[off + 2] = 0;
    b_[off + 3] = access;
    put64(off + 4, addr);
  }
  const std::vector<uint8_t>& finish() {
    put32(4, static_cast<uint32_t>(b_.size()));
    b_[9] = 0;
    uint8_t sum = 0;
    for (uint8_t c : b_) sum = static_cast<uint8_t>(sum + c);
    b_[9] = static_cast<uint8_t>(-sum);
    return b_;
  }

 private:
  std::vector<uint8_t> b_;
};

uint8_t checksum(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i) s = static_cast<uint8_t>(s + p[i]);
  return static_cast<uint8_t>(-s);
}

}  // namespace

uint64_t write_acpi_tables(const GuestMemory& mem, int cpus) {
  uint64_t at = layout::kAcpi + 0x40;  // after the RSDP
  auto place = [&](const std::vector<uint8_t>& t) {
    uint64_t addr = at;
    if (addr + t.size() > layout::kAcpiEnd) fail("ACPI tables do not fit for " + std::to_string(cpus) + " vCPUs");
    mem.copy_in(addr, t.data(), t.size());
    at = (addr + t.size() + 15) & ~15ull;
    return addr;
  };

  // DSDT: Name (_S5, Package () { 5, 5, 0, 0 })
  Table dsdt("DSDT", 2);
  const uint8_t s5[] = {0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
  dsdt.bytes(s5, sizeof s5);
  uint64_t dsdt_addr = place(dsdt.finish());

  Table fadt("FACP", 6);
  fadt.pad_to(276);
  fadt.put32(40, static_cast<uint32_t>(dsdt_addr));
  fadt.put16(46, 9);                       // SCI_INT
  fadt.put32(56, layout::kPm1aEvt);
  fadt.put32(64, layout::kPm1aCnt);
  fadt.put8(88, 4);                        // PM1_EVT_LEN
  fadt.put8(89, 2);                        // PM1_CNT_LEN
  fadt.put16(109, 0x3);                    // IAPC_BOOT_ARCH: legacy devices, 8042
  fadt.put32(112, (1u << 0) | (1u << 10)); // WBINVD, RESET_REG_SUP
  fadt.put_gas_io(116, 8, 1, 0xcf9);       // RESET_REG
  fadt.put8(128, 0x06);                    // RESET_VALUE
  fadt.put8(131, 3);                       // minor version
  fadt.put64(140, dsdt_addr);
  fadt.put_gas_io(148, 32, 3, layout::kPm1aEvt);
  fadt.put_gas_io(172, 16, 2, layout::kPm1aCnt);
  uint64_t fadt_addr = place(fadt.finish());

  Table madt("APIC", 4);
  madt.u32(static_cast<uint32_t>(layout::kLapic));
  madt.u32(1);  // PCAT_COMPAT: there are 8259 PICs too
  for (int i = 0; i < cpus; ++i) {
    madt.u8(0); madt.u8(8);
    madt.u8(static_cast<uint8_t>(i)); madt.u8(static_cast<uint8_t>(i));
    madt.u32(1);  // enabled
  }
  madt.u8(1); madt.u8(12);
  madt.u8(static_cast<uint8_t>(cpus)); madt.u8(0);  // IOAPIC id after the CPUs
  madt.u32(static_cast<uint32_t>(layout::kIoapic));
  madt.u32(0);
  madt.u8(2); madt.u8(10); madt.u8(0); madt.u8(0);  // ISA IRQ0 -> GSI2
  madt.u32(2); madt.u16(0);
  madt.u8(2); madt.u8(10); madt.u8(0); madt.u8(9);  // SCI: level, active high
  madt.u32(9); madt.u16(0x000d);
  madt.u8(4); madt.u8(6); madt.u8(0xff); madt.u16(0); madt.u8(1);  // LINT1 = NMI
  uint64_t madt_addr = place(madt.finish());

  Table xsdt("XSDT", 1);
  xsdt.u64(fadt_addr);
  xsdt.u64(madt_addr);
  uint64_t xsdt_addr = place(xsdt.finish());

  uint8_t rsdp[36] = {};
  std::memcpy(rsdp, "RSD PTR ", 8);
  std::memcpy(rsdp + 9, "BERTH ", 6);
  rsdp[15] = 2;
  uint32_t len = 36;
  std::memcpy(rsdp + 20, &len, 4);
  std::memcpy(rsdp + 24, &xsdt_addr, 8);
  rsdp[8] = checksum(rsdp, 20);
  rsdp[32] = checksum(rsdp, 36);
  mem.copy_in(layout::kAcpi, rsdp, sizeof rsdp);
  return layout::kAcpi;
}

}  // namespace berth::vmm
