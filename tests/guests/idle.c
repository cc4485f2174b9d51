/* Says it is up, then halts with interrupts off: a VM that stays running
 * without using CPU, for lifecycle tests (ls, stop, kill, locks, cgroups). */
#include "lib.h"

int guest_main(uint8_t* bp) {
  (void)bp;
  puts_serial("idle guest up\n");
  for (;;) __asm__ volatile("cli; hlt");
}
