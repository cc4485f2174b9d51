/* The benchmark guest: one line on the console, then power off. The same
 * code is packaged as a bzImage (Berth) and as an ELF with a PVH note (qemu). */
#include "lib.h"

int guest_main(uint8_t* bp) {
  (void)bp;
  puts_serial("hi\n");
  return 0;
}
