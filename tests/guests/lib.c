#include "lib.h"

void* memcpy(void* d, const void* s, size_t n) {
  uint8_t* a = d; const uint8_t* b = s;
  while (n--) *a++ = *b++;
  return d;
}
void* memset(void* d, int c, size_t n) {
  uint8_t* a = d;
  while (n--) *a++ = (uint8_t)c;
  return d;
}
int memcmp(const void* x, const void* y, size_t n) {
  const uint8_t* a = x; const uint8_t* b = y;
  for (; n; --n, ++a, ++b) if (*a != *b) return *a - *b;
  return 0;
}
size_t strlen(const char* s) { size_t n = 0; while (s[n]) ++n; return n; }

void putc_serial(char c) { outb(0x3f8, (uint8_t)c); }
void puts_serial(const char* s) { while (*s) putc_serial(*s++); }

static void put_num(uint64_t v, int base, int width, char pad, int neg) {
  char buf[24]; int i = 0;
  do { buf[i++] = "0123456789abcdef"[v % (unsigned)base]; v /= (unsigned)base; } while (v);
  if (neg) buf[i++] = '-';
  while (i < width) buf[i++] = pad;
  while (i) putc_serial(buf[--i]);
}

void gprintf(const char* f, ...) {
  va_list ap;
  va_start(ap, f);
  for (; *f; ++f) {
    if (*f != '%') { putc_serial(*f); continue; }
    ++f;
    char pad = ' '; int width = 0, lng = 0;
    if (*f == '0') { pad = '0'; ++f; }
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
    while (*f == 'l') { lng = 1; ++f; }
    switch (*f) {
      case 's': puts_serial(va_arg(ap, const char*)); break;
      case 'c': putc_serial((char)va_arg(ap, int)); break;
      case 'd': { long v = lng ? va_arg(ap, long) : va_arg(ap, int);
                  put_num(v < 0 ? (uint64_t)-v : (uint64_t)v, 10, width, pad, v < 0); break; }
      case 'u': put_num(lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, width, pad, 0); break;
      case 'x': put_num(lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, width, pad, 0); break;
      case '%': putc_serial('%'); break;
      default: putc_serial('?');
    }
  }
  va_end(ap);
}

uint32_t fnv1a(const void* p, size_t n) {
  const uint8_t* b = p; uint32_t h = 2166136261u;
  while (n--) { h ^= *b++; h *= 16777619u; }
  return h;
}

static int sum_ok(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  while (n--) s = (uint8_t)(s + *p++);
  return s == 0;
}

const uint8_t* acpi_find(const uint8_t* bp, const char sig[4]) {
  const uint8_t* rsdp = (const uint8_t*)(uintptr_t)*(const uint64_t*)(bp + 0x70);
  if (!rsdp || memcmp(rsdp, "RSD PTR ", 8) || !sum_ok(rsdp, 20) || !sum_ok(rsdp, 36)) return 0;
  const uint8_t* xsdt = (const uint8_t*)(uintptr_t)*(const uint64_t*)(rsdp + 24);
  uint32_t len = *(const uint32_t*)(xsdt + 4);
  if (memcmp(xsdt, "XSDT", 4) || !sum_ok(xsdt, len)) return 0;
  for (uint32_t o = 36; o + 8 <= len; o += 8) {
    const uint8_t* t = (const uint8_t*)(uintptr_t)*(const uint64_t*)(xsdt + o);
    if (!memcmp(t, sig, 4) && sum_ok(t, *(const uint32_t*)(t + 4))) return t;
  }
  return 0;
}

void acpi_poweroff(const uint8_t* bp) {
  const uint8_t* fadt = acpi_find(bp, "FACP");
  if (!fadt) { puts_serial("no FADT: cannot power off\n"); return; }
  const uint8_t* dsdt = (const uint8_t*)(uintptr_t)*(const uint64_t*)(fadt + 140);
  uint16_t slp_typ = 0;
  uint32_t dlen = *(const uint32_t*)(dsdt + 4);
  for (uint32_t i = 36; i + 10 < dlen; ++i) {
    /* Name(_S5_, Package(){ BytePrefix n, ... }) */
    if (!memcmp(dsdt + i, "_S5_", 4) && dsdt[i + 4] == 0x12) {
      const uint8_t* e = dsdt + i + 7;
      slp_typ = e[0] == 0x0a ? e[1] : e[0];
      break;
    }
  }
  uint16_t port = (uint16_t)*(const uint32_t*)(fadt + 64);
  outw(port, (uint16_t)((slp_typ << 10) | (1u << 13)));
}

void i8042_reset(void) { outb(0x64, 0xfe); }

void guest_start(uint8_t* bp) {
  int rc = guest_main(bp);
  gprintf("RESULT %s\n", rc == 0 ? "PASS" : "FAIL");
  outb(0xf4, 0);  /* qemu's isa-debug-exit, if present (Berth ignores it) */
  if (bp) acpi_poweroff(bp);
  puts_serial("poweroff failed; resetting\n");
  i8042_reset();
}

void lapic_enable(void) { MMIO32(0xfee000f0) = 0x1ff; }
uint32_t lapic_id(void) { return MMIO32(0xfee00020) >> 24; }

void lapic_icr(uint32_t dest, uint32_t low) {
  MMIO32(0xfee00310) = dest << 24;
  MMIO32(0xfee00300) = low;
  long spins = 100000;
  while ((MMIO32(0xfee00300) & (1u << 12)) && spins-- > 0) pause();  /* delivery status */
}

int madt_aps(const uint8_t* bp, uint32_t* ids, int max) {
  const uint8_t* madt = acpi_find(bp, "APIC");
  if (!madt) return -1;
  uint32_t bsp = lapic_id(), len = *(const uint32_t*)(madt + 4);
  int n = 0;
  for (uint32_t o = 44; o + 2 <= len && n < max; o += madt[o + 1]) {
    if (madt[o] != 0 || !(*(const uint32_t*)(madt + o + 4) & 1)) continue;  /* enabled local APIC */
    if (madt[o + 3] != bsp) ids[n++] = madt[o + 3];
  }
  return n;
}

uint32_t pci_read32(int dev, int reg) {
  outl(0xcf8, 0x80000000u | ((uint32_t)dev << 11) | ((uint32_t)reg & 0xfc));
  return inl(0xcfc);
}
void pci_write32(int dev, int reg, uint32_t v) {
  outl(0xcf8, 0x80000000u | ((uint32_t)dev << 11) | ((uint32_t)reg & 0xfc));
  outl(0xcfc, v);
}
uint16_t pci_read16(int dev, int reg) { return (uint16_t)(pci_read32(dev, reg) >> ((reg & 2) * 8)); }
uint8_t pci_read8(int dev, int reg) { return (uint8_t)(pci_read32(dev, reg) >> ((reg & 3) * 8)); }

/* Ring memory: per device two queues of VQ_SIZE, page aligned. */
static uint8_t rings[4][2][4096] __attribute__((aligned(4096)));
static int rings_used;

int virtio_find(int type, struct vdev* d) {
  for (int dev = 0; dev < 32; ++dev) {
    uint32_t id = pci_read32(dev, 0);
    if ((id & 0xffff) != 0x1af4 || (id >> 16) != 0x1040u + (unsigned)type) continue;
    memset(d, 0, sizeof *d);
    d->pci_dev = dev;
    /* Size BAR0 the way firmware does, then restore it. */
    uint32_t bar = pci_read32(dev, 0x10);
    pci_write32(dev, 0x10, 0xffffffff);
    uint32_t size = ~(pci_read32(dev, 0x10) & ~0xfu) + 1;
    pci_write32(dev, 0x10, bar);
    bar &= ~0xfu;
    if (!bar || size < 0x1000) { gprintf("virtio %d: bad BAR0 %x size %x\n", type, bar, size); return -1; }
    pci_write32(dev, 0x04, pci_read32(dev, 0x04) | 0x6);  /* memory + bus master */
    if (!(pci_read16(dev, 0x06) & 0x10)) return -1;
    for (uint8_t cap = pci_read8(dev, 0x34); cap; cap = pci_read8(dev, cap + 1)) {
      if (pci_read8(dev, cap) != 0x09) continue;
      uint8_t cfg_type = pci_read8(dev, cap + 3);
      uint64_t at = bar + pci_read32(dev, cap + 8);
      if (cfg_type == 1) d->common = at;
      if (cfg_type == 2) { d->notify = at; d->notify_mult = pci_read32(dev, cap + 16); }
      if (cfg_type == 3) d->isr = at;
      if (cfg_type == 4) d->device = at;
    }
    if (!d->common || !d->notify || !d->isr || !d->device) { puts_serial("virtio: missing capability\n"); return -1; }
    return 0;
  }
  return -1;
}

uint8_t virtio_status(struct vdev* d) { return MMIO8(d->common + 0x14); }

int virtio_start(struct vdev* d, uint64_t features, int nq) {
  uint64_t c = d->common;
  MMIO8(c + 0x14) = 0;
  MMIO8(c + 0x14) = 1 | 2;                         /* ACKNOWLEDGE | DRIVER */
  MMIO32(c + 0x00) = 1;
  if (!(MMIO32(c + 0x04) & 1)) { puts_serial("virtio: no VERSION_1\n"); return -1; }
  MMIO32(c + 0x08) = 0; MMIO32(c + 0x0c) = (uint32_t)features;
  MMIO32(c + 0x08) = 1; MMIO32(c + 0x0c) = (uint32_t)(features >> 32) | 1;
  MMIO8(c + 0x14) = 1 | 2 | 8;                     /* FEATURES_OK */
  if (!(MMIO8(c + 0x14) & 8)) { puts_serial("virtio: features refused\n"); return -1; }
  if (MMIO16(c + 0x12) < nq) return -1;
  int slot = rings_used++;
  for (int q = 0; q < nq; ++q) {
    uint8_t* r = rings[slot][q];
    memset(r, 0, 4096);
    struct vring* v = &d->q[q];
    v->desc_pa = (uintptr_t)r;
    v->avail_pa = (uintptr_t)r + 16 * VQ_SIZE;
    v->used_pa = (uintptr_t)r + 2048;
    MMIO16(c + 0x16) = (uint16_t)q;
    MMIO16(c + 0x18) = VQ_SIZE;
    MMIO64(c + 0x20) = v->desc_pa;
    MMIO64(c + 0x28) = v->avail_pa;
    MMIO64(c + 0x30) = v->used_pa;
    v->notify_off = MMIO16(c + 0x1e);
    MMIO16(c + 0x1c) = 1;
  }
  MMIO8(c + 0x14) = 1 | 2 | 8 | 4;                 /* DRIVER_OK */
  return 0;
}

int virtio_submit(struct vdev* d, int q, int n, const uint64_t* addr, const uint32_t* len,
                  const int* write) {
  struct vring* v = &d->q[q];
  /* One request in flight per queue: the chain always starts at 0. */
  int base = 0;
  if (n > VQ_SIZE) return -1;
  for (int i = 0; i < n; ++i) {
    uint8_t* desc = (uint8_t*)(uintptr_t)v->desc_pa + 16 * (base + i);
    *(uint64_t*)desc = addr[i];
    *(uint32_t*)(desc + 8) = len[i];
    *(uint16_t*)(desc + 12) = (uint16_t)((i + 1 < n ? 1 : 0) | (write[i] ? 2 : 0));
    *(uint16_t*)(desc + 14) = (uint16_t)(base + i + 1);
  }
  volatile uint16_t* avail = (volatile uint16_t*)(uintptr_t)v->avail_pa;
  avail[2 + v->next_avail % VQ_SIZE] = (uint16_t)base;
  barrier();
  v->next_avail++;
  avail[1] = v->next_avail;
  barrier();
  MMIO16(d->notify + (uint64_t)v->notify_off * d->notify_mult) = (uint16_t)q;
  return base;
}

long virtio_wait(struct vdev* d, int q, long spins) {
  struct vring* v = &d->q[q];
  volatile uint16_t* used = (volatile uint16_t*)(uintptr_t)v->used_pa;
  while (used[1] == v->last_used) {
    if (spins-- <= 0) return -1;
    pause();
  }
  barrier();
  volatile uint32_t* elem = (volatile uint32_t*)(uintptr_t)(v->used_pa + 4 + 8 * (v->last_used % VQ_SIZE));
  v->last_used++;
  return elem[1];
}
