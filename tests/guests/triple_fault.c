/* Loads an empty IDT and raises an exception: the CPU triple-faults. */
#include "lib.h"

int guest_main(uint8_t* bp) {
  (void)bp;
  puts_serial("triple faulting\n");
  struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idt = {0, 0};
  __asm__ volatile("lidt %0; ud2" ::"m"(idt));
  return 1;
}
