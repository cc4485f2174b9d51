/* virtio-net: sends a broadcast frame (ethertype 0x88b5) the host must see
 * on the tap, then waits for a frame with that ethertype from the host. */
#include "lib.h"

static uint8_t tx[12 + 64];
static uint8_t rx[12 + 1514];

int guest_main(uint8_t* bp) {
  (void)bp;
  struct vdev d;
  if (virtio_find(1, &d)) { puts_serial("no virtio-net\n"); return 1; }
  if (virtio_start(&d, 1u << 5, 2)) return 1;
  uint8_t mac[6];
  for (int i = 0; i < 6; ++i) mac[i] = MMIO8(d.device + i);
  gprintf("net mac=%02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);

  uint64_t ra = (uintptr_t)rx; uint32_t rl = sizeof rx; int rw = 1;
  virtio_submit(&d, 0, 1, &ra, &rl, &rw);

  uint8_t* f = tx + 12;
  memset(f, 0xff, 6);
  memcpy(f + 6, mac, 6);
  f[12] = 0x88; f[13] = 0xb5;
  const char* msg = "BERTH-GUEST-FRAME";
  memcpy(f + 14, msg, strlen(msg));
  uint64_t ta = (uintptr_t)tx; uint32_t tl = sizeof tx; int tw = 0;
  virtio_submit(&d, 1, 1, &ta, &tl, &tw);
  if (virtio_wait(&d, 1, 2000000) < 0) { puts_serial("tx timed out\n"); return 1; }
  puts_serial("net frame sent\n");

  for (int tries = 0; tries < 50; ++tries) {
    long n = virtio_wait(&d, 0, 20000000);
    if (n < 0) { puts_serial("rx timed out\n"); return 1; }
    uint8_t* e = rx + 12;
    if (n >= 12 + 14 && e[12] == 0x88 && e[13] == 0xb5) {
      e[14 + 32] = 0;
      gprintf("net frame received len=%ld payload=[%s]\n", n - 12, (const char*)(e + 14));
      return 0;
    }
    virtio_submit(&d, 0, 1, &ra, &rl, &rw);  /* not ours (IPv6 noise): again */
  }
  return 1;
}
