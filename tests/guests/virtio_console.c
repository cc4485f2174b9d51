/* virtio-console, port 0: a transmit chain pointing outside guest RAM must
 * fail alone (used length 0, no DEVICE_NEEDS_RESET); then a greeting goes
 * out on the transmitq, one line from the host comes in on the receiveq
 * (length and FNV-1a printed), and is echoed back with an "ECHO:" prefix. */
#include "lib.h"

enum { RXQ = 0, TXQ = 1 };

static const char hello[] = "BERTH-CONSOLE-HELLO\n";
static char line[256];
static char echo[5 + sizeof line];

static long transmit(struct vdev* d, uint64_t addr, uint32_t len) {
  int w = 0;
  virtio_submit(d, TXQ, 1, &addr, &len, &w);
  return virtio_wait(d, TXQ, 2000000);
}

int guest_main(uint8_t* bp) {
  (void)bp;
  struct vdev d;
  if (virtio_find(3, &d)) { puts_serial("no virtio-console\n"); return 1; }
  if (virtio_start(&d, 0, 2)) return 1;

  long n = transmit(&d, 0x7fff00000000ull, 64);
  gprintf("console bad chain used len=%ld status=%x\n", n, virtio_status(&d));
  if (n != 0 || (virtio_status(&d) & 0x40)) return 1;

  if (transmit(&d, (uintptr_t)hello, sizeof hello - 1) < 0) { puts_serial("console tx timed out\n"); return 1; }
  puts_serial("console hello sent\n");

  uint32_t got = 0;
  while (got == 0 || line[got - 1] != '\n') {
    if (got == sizeof line) { puts_serial("console line too long\n"); return 1; }
    uint64_t a = (uintptr_t)(line + got); uint32_t l = sizeof line - got; int w = 1;
    virtio_submit(&d, RXQ, 1, &a, &l, &w);
    long r = virtio_wait(&d, RXQ, 20000000);
    if (r <= 0) { puts_serial("console rx timed out\n"); return 1; }
    got += (uint32_t)r;
  }
  gprintf("console rx len=%u fnv=%08x\n", got, fnv1a(line, got));

  memcpy(echo, "ECHO:", 5);
  memcpy(echo + 5, line, got);
  if (transmit(&d, (uintptr_t)echo, 5 + got) < 0) { puts_serial("console echo timed out\n"); return 1; }
  puts_serial("console echo sent\n");
  return 0;
}
