/* virtio-blk: read sector 0 (written by the host), write sector 1 (read by
 * the host after exit) and flush. On a read-only disk the write must fail. */
#include "lib.h"

struct req { uint32_t type, reserved; uint64_t sector; };
static struct req hdr;
static uint8_t data[512];
static volatile uint8_t status;

static int request(struct vdev* d, uint32_t type, uint64_t sector, int with_data, int dev_writes) {
  hdr.type = type; hdr.reserved = 0; hdr.sector = sector;
  status = 0xff;
  uint64_t a[3] = {(uintptr_t)&hdr, (uintptr_t)data, (uintptr_t)&status};
  uint32_t l[3] = {16, 512, 1};
  int w[3] = {0, dev_writes, 1};
  if (!with_data) { a[1] = a[2]; l[1] = 1; w[1] = 1; }
  virtio_submit(d, 0, with_data ? 3 : 2, a, l, w);
  if (virtio_wait(d, 0, 2000000) < 0) { puts_serial("blk request timed out\n"); return -1; }
  return status;
}

int guest_main(uint8_t* bp) {
  (void)bp;
  struct vdev d;
  if (virtio_find(2, &d)) { puts_serial("no virtio-blk\n"); return 1; }
  MMIO32(d.common) = 0;
  uint32_t features = MMIO32(d.common + 4);
  int ro = (features >> 5) & 1;
  if (virtio_start(&d, features & ((1u << 5) | (1u << 9)), 1)) return 1;
  uint64_t capacity = MMIO64(d.device);
  gprintf("blk capacity=%lu sectors ro=%d\n", capacity, ro);
  if (request(&d, 0, 0, 1, 1) != 0) { puts_serial("read failed\n"); return 1; }
  data[40] = 0;
  gprintf("blk sector0=[%s]\n", (const char*)data);
  memset(data, 0, sizeof data);
  const char* msg = "BERTH-GUEST-WROTE-SECTOR-1";
  memcpy(data, msg, strlen(msg));
  int st = request(&d, 1, 1, 1, 0);
  if (ro) {
    gprintf("blk write on ro disk status=%d\n", st);
    return st == 1 ? 0 : 1;
  }
  gprintf("blk write status=%d\n", st);
  int fl = request(&d, 4, 0, 0, 0);
  gprintf("blk flush status=%d\n", fl);
  /* Past the end must fail, not crash anything. */
  int past = request(&d, 0, capacity, 1, 1);
  gprintf("blk read past end status=%d\n", past);
  return st == 0 && fl == 0 && past == 1 ? 0 : 1;
}
