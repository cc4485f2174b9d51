/* PCI enumeration over config mechanism #1: every device on bus 0. */
#include "lib.h"

int guest_main(uint8_t* bp) {
  (void)bp;
  int found = 0;
  for (int dev = 0; dev < 32; ++dev) {
    uint32_t id = pci_read32(dev, 0);
    if ((id & 0xffff) == 0xffff) continue;
    uint32_t class_rev = pci_read32(dev, 8);
    gprintf("pci 00:%02x.0 %04x:%04x class %06x irq %u\n", dev, id & 0xffff, id >> 16,
            class_rev >> 8, pci_read8(dev, 0x3c));
    ++found;
  }
  gprintf("pci devices=%d\n", found);
  return found ? 0 : 1;
}
