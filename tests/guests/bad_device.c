/* A hostile driver: garbage to ports, PCI config space, unclaimed MMIO and
 * virtio registers, then virtio rings and buffers outside guest RAM. The
 * device must fail those requests (NEEDS_RESET, or a used element with no
 * bytes) and keep working; the VMM must survive to power the guest off. */
#include "lib.h"

static uint8_t buf[64];

int guest_main(uint8_t* bp) {
  (void)bp;
  /* Ports nobody claims, and bad values to ports somebody does. */
  outl(0x1234, 0xdeadbeef);
  if (inl(0x1234) != 0xffffffff) { puts_serial("unclaimed port not all-ones\n"); return 1; }
  outb(0x64, 0x00);
  outw(0x604, 0x0001);   /* no SLP_EN: not a poweroff */
  outb(0xcf9, 0x02);     /* no reset bit */
  outl(0xcf8, 0x12345678);
  (void)inl(0xcfc);
  outl(0xcf8, 0x80ff0000);   /* bus 255 */
  if (inl(0xcfc) != 0xffffffff) { puts_serial("absent bus answered\n"); return 1; }
  /* Unclaimed MMIO in the PCI hole. */
  MMIO32(0xd8000000) = 0x12345678;
  if (MMIO32(0xd8000000) != 0xffffffff) { puts_serial("unclaimed MMIO not all-ones\n"); return 1; }

  struct vdev d;
  if (virtio_find(4, &d)) { puts_serial("no virtio-rng\n"); return 1; }
  /* Read-only config registers must stay put. */
  pci_write32(d.pci_dev, 0x00, 0xffffffff);
  pci_write32(d.pci_dev, 0x08, 0xffffffff);
  pci_write32(d.pci_dev, 0x34, 0xffffffff);
  if (pci_read32(d.pci_dev, 0) != 0x10441af4) { puts_serial("vendor/device id changed\n"); return 1; }
  uint64_t c = d.common;
  MMIO16(c + 0x16) = 0x7fff;        /* select a queue that does not exist */
  MMIO64(c + 0x20) = 0x1234;
  MMIO16(c + 0x18) = 3;             /* not a power of two */
  MMIO8(c + 0x14) = 0xff;           /* every status bit at once */
  MMIO32(d.device + 0x10) = 0xffffffff;
  gprintf("garbage written; num_queues=%u\n", MMIO16(c + 0x12));

  /* Rings outside guest memory. */
  MMIO8(c + 0x14) = 0;
  MMIO8(c + 0x14) = 3;
  MMIO32(c + 0x08) = 1; MMIO32(c + 0x0c) = 1;
  MMIO8(c + 0x14) = 3 | 8;
  MMIO16(c + 0x16) = 0;
  MMIO16(c + 0x18) = 8;
  MMIO64(c + 0x20) = 0x7fff00000000ull;
  MMIO64(c + 0x28) = 0x7fff00001000ull;
  MMIO64(c + 0x30) = 0x7fff00002000ull;
  MMIO16(c + 0x1c) = 1;
  MMIO8(c + 0x14) = 3 | 8 | 4;
  MMIO16(d.notify) = 0;
  long spins = 2000000;
  while (!(virtio_status(&d) & 0x40) && spins-- > 0) pause();
  gprintf("rings outside RAM: status=%x\n", virtio_status(&d));
  if (!(virtio_status(&d) & 0x40)) { puts_serial("device did not flag NEEDS_RESET\n"); return 1; }

  /* After a reset: a buffer outside RAM fails alone, the next one works. */
  if (virtio_start(&d, 0, 1)) return 1;
  uint64_t a = 0x7fff00000000ull; uint32_t l = 64; int w = 1;
  virtio_submit(&d, 0, 1, &a, &l, &w);
  long got = virtio_wait(&d, 0, 2000000);
  gprintf("buffer outside RAM: used len=%ld\n", got);
  if (got != 0) return 1;
  a = (uintptr_t)buf;
  virtio_submit(&d, 0, 1, &a, &l, &w);
  got = virtio_wait(&d, 0, 2000000);
  gprintf("good buffer after it: used len=%ld\n", got);
  if (got != 64) return 1;
  puts_serial("vmm survived\n");
  return 0;
}
