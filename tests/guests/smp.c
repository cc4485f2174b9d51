/* SMP bring-up as firmware and Linux do it: every application processor
 * listed in the MADT gets INIT, SIPI, SIPI from the boot CPU and runs a
 * real-mode trampoline at 0x10000 that reports its APIC id. */
#include "lib.h"

#define TRAMPOLINE 0x10000u
extern const uint8_t tramp_start[], tramp_end[], tramp_id[], tramp_done[];

__asm__(
    ".section .rodata\n"
    ".code16\n"
    ".globl tramp_start, tramp_end, tramp_id, tramp_done\n"
    "tramp_start:\n"
    "  cli\n"
    "  mov %cs, %ax\n"
    "  mov %ax, %ds\n"
    "  mov $1, %eax\n"
    "  cpuid\n"
    "  shr $24, %ebx\n"
    "  mov %bl, (tramp_id - tramp_start)\n"
    "  mov $0x3f8, %dx\n"
    "  mov $'@', %al\n"
    "  out %al, %dx\n"
    "  movb $1, (tramp_done - tramp_start)\n"
    "1: hlt\n"
    "  jmp 1b\n"
    "tramp_id: .byte 0xff\n"
    "tramp_done: .byte 0\n"
    "tramp_end:\n"
    ".code64\n"
    ".text\n");

static void icr(uint32_t dest, uint32_t low) {
  MMIO32(0xfee00310) = dest << 24;
  MMIO32(0xfee00300) = low;
  long spins = 100000;
  while ((MMIO32(0xfee00300) & (1u << 12)) && spins-- > 0) pause();  /* delivery status */
}

int guest_main(uint8_t* bp) {
  const uint8_t* madt = acpi_find(bp, "APIC");
  if (!madt) { puts_serial("no MADT\n"); return 1; }
  MMIO32(0xfee000f0) = 0x1ff;  /* software-enable the local APIC */
  uint32_t bsp = MMIO32(0xfee00020) >> 24;
  uint32_t len = *(const uint32_t*)(madt + 4);
  int started = 0, expected = 0;
  volatile uint8_t* id = (volatile uint8_t*)(uintptr_t)(TRAMPOLINE + (tramp_id - tramp_start));
  volatile uint8_t* done = (volatile uint8_t*)(uintptr_t)(TRAMPOLINE + (tramp_done - tramp_start));
  for (uint32_t o = 44; o + 2 <= len; o += madt[o + 1]) {
    if (madt[o] != 0 || !(*(const uint32_t*)(madt + o + 4) & 1)) continue;
    uint32_t apic = madt[o + 3];
    if (apic == bsp) continue;
    ++expected;
    memcpy((void*)(uintptr_t)TRAMPOLINE, tramp_start, (size_t)(tramp_end - tramp_start));
    icr(apic, 0x4500);                       /* INIT, assert */
    icr(apic, 0x4600 | (TRAMPOLINE >> 12));  /* SIPI */
    long spins = 3000000;
    while (!*done && spins-- > 0) {
      if (spins == 1500000) icr(apic, 0x4600 | (TRAMPOLINE >> 12));  /* second SIPI */
      pause();
    }
    if (*done) {
      gprintf("\nap apic_id=%u online (sent to %u)\n", *id, apic);
      if (*id == apic) ++started;
    } else {
      gprintf("ap apic_id=%u did not start\n", apic);
    }
  }
  gprintf("bsp apic_id=%u aps started=%d of %d\n", bsp, started, expected);
  return started == expected && expected > 0 ? 0 : 1;
}
