/* Reads back what the VMM put in boot_params: the e820 map, the command
 * line and the initrd (its bytes checksummed with FNV-1a). */
#include "lib.h"

int guest_main(uint8_t* bp) {
  int rc = 0;
  uint8_t n = bp[0x1e8];
  uint64_t ram = 0;
  gprintf("e820 entries=%u\n", n);
  for (int i = 0; i < n; ++i) {
    const uint8_t* e = bp + 0x2d0 + 20 * i;
    uint64_t addr = *(const uint64_t*)e, size = *(const uint64_t*)(e + 8);
    uint32_t type = *(const uint32_t*)(e + 16);
    gprintf("e820 %016lx-%016lx type %u\n", addr, addr + size, type);
    if (type == 1) ram += size;
  }
  gprintf("e820 ram_kib=%lu\n", ram >> 10);
  if (bp[0x210] != 0xff) { gprintf("type_of_loader=%x\n", bp[0x210]); rc = 1; }
  const char* cmdline = (const char*)(uintptr_t)*(uint32_t*)(bp + 0x228);
  gprintf("cmdline=[%s]\n", cmdline ? cmdline : "");
  uint32_t rd = *(uint32_t*)(bp + 0x218), rd_size = *(uint32_t*)(bp + 0x21c);
  if (rd_size) {
    gprintf("initrd addr=%x size=%u fnv=%08x\n", rd, rd_size, fnv1a((void*)(uintptr_t)rd, rd_size));
    if (rd & 0xfff) { puts_serial("initrd not page aligned\n"); rc = 1; }
  } else {
    puts_serial("initrd none\n");
  }
  return rc;
}
