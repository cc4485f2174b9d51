/* Resets the machine through the i8042 controller (what Linux's reboot=k does). */
#include "lib.h"

int guest_main(uint8_t* bp) {
  (void)bp;
  puts_serial("resetting via i8042\n");
  i8042_reset();
  for (;;) pause();
}
