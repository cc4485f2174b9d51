/* PVH boot: the loader found the XEN_ELFNOTE_PHYS32_ENTRY note in pvh.elf
 * and entered entry32 in 32-bit protected mode with %ebx pointing at
 * struct hvm_start_info. Prints its magic, version, command line, memory
 * map size and whether the RSDP it names is one; built as a bzImage too,
 * where it must find no start_info. */
#include "lib.h"

int guest_main(uint8_t* bp) {
  if (bp) { puts_serial("pvh: entered through the bzImage entry\n"); return 1; }
  if (!pvh_start_info) { puts_serial("pvh: no start_info in %ebx\n"); return 1; }
  const uint8_t* si = (const uint8_t*)(uintptr_t)pvh_start_info;
  uint32_t magic = *(const uint32_t*)si, version = *(const uint32_t*)(si + 4);
  const char* cmdline = (const char*)(uintptr_t)*(const uint64_t*)(si + 24);
  const uint8_t* rsdp = (const uint8_t*)(uintptr_t)*(const uint64_t*)(si + 32);
  const uint8_t* map = (const uint8_t*)(uintptr_t)*(const uint64_t*)(si + 40);
  uint32_t entries = *(const uint32_t*)(si + 48);
  uint64_t ram = 0;
  for (uint32_t i = 0; i < entries; ++i)
    if (*(const uint32_t*)(map + 24 * i + 16) == 1) ram += *(const uint64_t*)(map + 24 * i + 8);
  gprintf("pvh magic=%x version=%u cmdline=[%s] memmap entries=%u ram_kib=%lu rsdp=%s\n", magic, version,
          cmdline ? cmdline : "", entries, (unsigned long)(ram >> 10),
          rsdp && !memcmp(rsdp, "RSD PTR ", 8) ? "ok" : "bad");
  return magic == 0x336ec578 && version >= 1 ? 0 : 1;
}
