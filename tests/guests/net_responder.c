/* A guest with an IPv4 address: takes it from Linux's `ip=` option on its
 * command line (ip=ADDR::GATEWAY:NETMASK:HOSTNAME:eth0:off[:DNS], what
 * `berth vm run --net NETWORK` appends) and its MAC from the virtio-net
 * config space, prints "net-responder up ip=ADDR mac=MAC", then answers
 * ARP requests for its address and ICMP echo requests to it, forever.
 * Enough for a container or the host to ping it (tests/e2e/net_vm.sh). */
#include "lib.h"

static uint8_t tx[12 + 1514];
static uint8_t rx[12 + 1514];

static uint16_t get16(const uint8_t* p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t* p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* The Internet checksum (RFC 1071) of n bytes. */
static uint16_t csum(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (; n > 1; p += 2, n -= 2) s += get16(p);
  if (n) s += (uint32_t)p[0] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

/* "10.77.5.2" -> 4 bytes; returns the character after it, or 0 if malformed. */
static const char* parse_ip(const char* s, uint8_t out[4]) {
  for (int i = 0; i < 4; ++i) {
    int v = 0, digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 3) v = v * 10 + (*s++ - '0'), ++digits;
    if (!digits || v > 255) return 0;
    out[i] = (uint8_t)v;
    if (i < 3 && *s++ != '.') return 0;
  }
  return s;
}

static void send_frame(struct vdev* d, size_t len) {
  memset(tx, 0, 12); /* virtio_net_hdr: no offloads */
  uint64_t a = (uintptr_t)tx; uint32_t l = (uint32_t)(12 + len); int w = 0;
  virtio_submit(d, 1, 1, &a, &l, &w);
  if (virtio_wait(d, 1, 200000000) < 0) puts_serial("tx timed out\n");
}

int guest_main(uint8_t* bp) {
  const char* cmdline = (const char*)(uintptr_t)*(uint32_t*)(bp + 0x228);
  const char* ip = 0;
  for (const char* c = cmdline; c && *c; ++c)
    if ((c == cmdline || c[-1] == ' ') && c[0] == 'i' && c[1] == 'p' && c[2] == '=') ip = c + 3; /* the last, as Linux */
  uint8_t me[4];
  if (!ip || !parse_ip(ip, me)) { gprintf("no ip=ADDR:... on the command line [%s]\n", cmdline ? cmdline : ""); return 1; }

  struct vdev d;
  if (virtio_find(1, &d)) { puts_serial("no virtio-net\n"); return 1; }
  if (virtio_start(&d, 1u << 5 /* VIRTIO_NET_F_MAC */, 2)) return 1;
  uint8_t mac[6];
  for (int i = 0; i < 6; ++i) mac[i] = MMIO8(d.device + i);
  gprintf("net-responder up ip=%u.%u.%u.%u mac=%02x:%02x:%02x:%02x:%02x:%02x\n", me[0], me[1], me[2], me[3], mac[0],
          mac[1], mac[2], mac[3], mac[4], mac[5]);

  uint64_t ra = (uintptr_t)rx; uint32_t rl = sizeof rx; int rw = 1;
  unsigned arps = 0, pings = 0;
  for (;;) {
    virtio_submit(&d, 0, 1, &ra, &rl, &rw);
    long n;
    while ((n = virtio_wait(&d, 0, 1000000000)) < 0) {
    }
    n -= 12;
    const uint8_t* e = rx + 12;
    uint8_t* o = tx + 12;
    if (n < 14) continue;
    uint16_t type = get16(e + 12);
    if (type == 0x0806 && n >= 14 + 28) {
      const uint8_t* a = e + 14;
      /* Ethernet/IPv4 ARP request for our address. */
      if (get16(a) != 1 || get16(a + 2) != 0x0800 || get16(a + 6) != 1 || memcmp(a + 24, me, 4)) continue;
      memcpy(o, a + 8, 6);
      memcpy(o + 6, mac, 6);
      put16(o + 12, 0x0806);
      uint8_t* r = o + 14;
      memcpy(r, a, 6); /* htype, ptype, hlen, plen */
      put16(r + 6, 2);
      memcpy(r + 8, mac, 6);
      memcpy(r + 14, me, 4);
      memcpy(r + 18, a + 8, 10); /* their MAC and address */
      send_frame(&d, 14 + 28);
      if (arps++ < 3) puts_serial("arp reply sent\n");
    } else if (type == 0x0800 && n >= 14 + 20) {
      const uint8_t* h = e + 14;
      size_t ihl = (size_t)(h[0] & 0xf) * 4, total = get16(h + 2);
      if ((h[0] >> 4) != 4 || ihl < 20 || total < ihl + 8 || (long)total > n - 14) continue;
      if (h[9] != 1 || memcmp(h + 16, me, 4)) continue;
      const uint8_t* icmp = h + ihl;
      if (icmp[0] != 8) continue; /* echo request */
      memcpy(o, e + 6, 6);
      memcpy(o + 6, mac, 6);
      put16(o + 12, 0x0800);
      uint8_t* r = o + 14;
      memcpy(r, h, total);
      memcpy(r + 12, h + 16, 4);
      memcpy(r + 16, h + 12, 4);
      r[8] = 64;
      put16(r + 10, 0);
      put16(r + 10, csum(r, ihl));
      uint8_t* ri = r + ihl;
      ri[0] = 0; /* echo reply: same id, sequence and data */
      put16(ri + 2, 0);
      put16(ri + 2, csum(ri, total - ihl));
      send_frame(&d, 14 + total);
      if (pings++ < 3) gprintf("echo reply sent to %u.%u.%u.%u\n", h[12], h[13], h[14], h[15]);
    }
  }
}
