/* virtio-rng returns random bytes: two requests, non-zero and different. */
#include "lib.h"

static uint8_t buf[2][64];

int guest_main(uint8_t* bp) {
  (void)bp;
  struct vdev d;
  if (virtio_find(4, &d)) { puts_serial("no virtio-rng\n"); return 1; }
  if (virtio_start(&d, 0, 1)) return 1;
  for (int i = 0; i < 2; ++i) {
    uint64_t a = (uintptr_t)buf[i]; uint32_t l = sizeof buf[i]; int w = 1;
    virtio_submit(&d, 0, 1, &a, &l, &w);
    long got = virtio_wait(&d, 0, 2000000);
    gprintf("rng read %ld bytes:", got);
    for (int j = 0; j < 8; ++j) gprintf(" %02x", buf[i][j]);
    puts_serial("\n");
    if (got != 64) return 1;
  }
  int zero = 1;
  for (int j = 0; j < 64; ++j) if (buf[0][j]) zero = 0;
  if (zero || !memcmp(buf[0], buf[1], 64)) { puts_serial("rng bytes not random\n"); return 1; }
  return 0;
}
