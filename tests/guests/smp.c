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

int guest_main(uint8_t* bp) {
  lapic_enable();
  uint32_t bsp = lapic_id(), aps[64];
  int n = madt_aps(bp, aps, 64);
  if (n < 0) { puts_serial("no MADT\n"); return 1; }
  int started = 0, expected = n;
  volatile uint8_t* id = (volatile uint8_t*)(uintptr_t)(TRAMPOLINE + (tramp_id - tramp_start));
  volatile uint8_t* done = (volatile uint8_t*)(uintptr_t)(TRAMPOLINE + (tramp_done - tramp_start));
  for (int i = 0; i < n; ++i) {
    uint32_t apic = aps[i];
    memcpy((void*)(uintptr_t)TRAMPOLINE, tramp_start, (size_t)(tramp_end - tramp_start));
    lapic_icr(apic, 0x4500);                       /* INIT, assert */
    lapic_icr(apic, 0x4600 | (TRAMPOLINE >> 12));  /* SIPI */
    long spins = 3000000;
    while (!*done && spins-- > 0) {
      if (spins == 1500000) lapic_icr(apic, 0x4600 | (TRAMPOLINE >> 12));  /* second SIPI */
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
