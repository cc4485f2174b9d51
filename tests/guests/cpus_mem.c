/* CPU count and memory size as configured: CPUs from the MADT and CPUID,
 * memory from the e820 map, and the last page of RAM written and read back. */
#include "lib.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

int guest_main(uint8_t* bp) {
  const uint8_t* madt = acpi_find(bp, "APIC");
  if (!madt) { puts_serial("no MADT\n"); return 1; }
  uint32_t len = *(const uint32_t*)(madt + 4);
  int cpus = 0, ioapics = 0;
  for (uint32_t o = 44; o + 2 <= len; o += madt[o + 1]) {
    if (madt[o + 1] < 2) return 1;
    if (madt[o] == 0 && (*(const uint32_t*)(madt + o + 4) & 1)) ++cpus;
    if (madt[o] == 1) ++ioapics;
  }
  uint32_t r[4];
  cpuid(0xb, 1, r);
  uint32_t cpuid_cpus = r[1] & 0xffff;
  cpuid(1, 0, r);
  gprintf("cpus madt=%d cpuid=%u ioapics=%d apic_id=%u\n", cpus, cpuid_cpus, ioapics, r[1] >> 24);

  uint64_t top_low = 0, high = 0;
  uint8_t n = bp[0x1e8];
  for (int i = 0; i < n; ++i) {
    const uint8_t* e = bp + 0x2d0 + 20 * i;
    uint64_t addr = *(const uint64_t*)e, size = *(const uint64_t*)(e + 8);
    if (*(const uint32_t*)(e + 16) != 1) continue;
    if (addr >= (1ull << 32)) high += size;
    else if (addr + size > top_low) top_low = addr + size;
  }
  uint64_t mem = top_low + high;
  gprintf("memory mib=%lu\n", mem >> 20);
  /* The last page below 4 GiB must be real, writable RAM. */
  volatile uint64_t* last = (volatile uint64_t*)(uintptr_t)(top_low - 8);
  *last = 0x5a5a1234abcd9876ull;
  if (*last != 0x5a5a1234abcd9876ull) { puts_serial("top of RAM not writable\n"); return 1; }
  puts_serial("top of RAM ok\n");
  return cpus == (int)cpuid_cpus ? 0 : 1;
}
