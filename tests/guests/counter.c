/* A guest that keeps counting, for pause/resume, snapshot/restore and
 * migration tests. The count lives in a register and in the first and last
 * word of each of PAGES pages of RAM; every round checks that each page
 * still holds the previous count before writing the next one, so a page
 * write that got lost, a page restored stale, or registers restored out of
 * step with memory end it with "MISMATCH". Every 64 rounds it prints
 * "count N". Each other CPU of the MADT is started (INIT/SIPI) in a
 * real-mode loop that counts the same way in a register and a word of its
 * own (a page apart); the boot CPU prints their counts too ("ap1 N").
 * With a virtio-blk disk it also writes the line to sector 1 each time, and
 * with a virtio-console it sends it on the channel, so device state is
 * exercised across a snapshot as well. It never ends by itself. */
#include "lib.h"

#define PAGES 256
#define BASE 0x800000ul
#define TRAMPOLINE 0x10000u
#define MAX_APS 8

extern const uint8_t ap_start[], ap_end[], ap_count[], ap_bad[];

__asm__(
    ".section .rodata\n"
    ".code16\n"
    ".globl ap_start, ap_end, ap_count, ap_bad\n"
    "ap_start:\n"
    "  cli\n"
    "  mov %cs, %ax\n"
    "  mov %ax, %ds\n"
    "  xor %ebx, %ebx\n"
    "1: mov (ap_count - ap_start), %eax\n"
    "  cmp %eax, %ebx\n"
    "  jne 2f\n"
    "  inc %ebx\n"
    "  mov %ebx, (ap_count - ap_start)\n"
    "  jmp 1b\n"
    "2: movb $1, (ap_bad - ap_start)\n"
    "3: hlt\n"
    "  jmp 3b\n"
    "  .balign 4\n"
    "ap_count: .long 0\n"
    "ap_bad: .byte 0\n"
    "ap_end:\n"
    ".code64\n"
    ".text\n");

static volatile uint32_t* ap_word(int i, const uint8_t* which) {
  return (volatile uint32_t*)(uintptr_t)(TRAMPOLINE + 0x1000u * (unsigned)i + (unsigned)(which - ap_start));
}

static struct vdev blk, con;
static int have_blk, have_con;
static struct { uint32_t type, reserved; uint64_t sector; } blk_hdr;
static char blk_data[512];
static volatile uint8_t blk_status;

static int format_line(char* out, uint64_t count) {
  char digits[24];
  int n = 0, len = 0;
  do { digits[n++] = (char)('0' + count % 10); count /= 10; } while (count);
  memcpy(out, "count ", 6);
  len = 6;
  while (n) out[len++] = digits[--n];
  out[len++] = '\n';
  return len;
}

/* Sector 1 gets the line; the channel gets it too. Both wait for the device. */
static int report_to_devices(uint64_t count) {
  static char line[32];
  int len = format_line(line, count);
  if (have_blk) {
    memset(blk_data, 0, sizeof blk_data);
    memcpy(blk_data, line, (size_t)len);
    blk_hdr.type = 1;  /* write */
    blk_hdr.sector = 1;
    blk_status = 0xff;
    uint64_t a[3] = {(uintptr_t)&blk_hdr, (uintptr_t)blk_data, (uintptr_t)&blk_status};
    uint32_t l[3] = {16, 512, 1};
    int w[3] = {0, 0, 1};
    virtio_submit(&blk, 0, 3, a, l, w);
    if (virtio_wait(&blk, 0, 20000000) < 0 || blk_status != 0) {
      gprintf("blk write of count %lu failed\n", count);
      return 1;
    }
  }
  if (have_con) {
    uint64_t a = (uintptr_t)line;
    uint32_t l = (uint32_t)len;
    int w = 0;
    virtio_submit(&con, 1, 1, &a, &l, &w);
    if (virtio_wait(&con, 1, 20000000) < 0) {
      gprintf("console send of count %lu timed out\n", count);
      return 1;
    }
  }
  return 0;
}

int guest_main(uint8_t* bp) {
  have_blk = virtio_find(2, &blk) == 0 && virtio_start(&blk, 0, 1) == 0;
  have_con = virtio_find(3, &con) == 0 && virtio_start(&con, 0, 2) == 0;
  lapic_enable();
  uint32_t aps[MAX_APS];
  int n = madt_aps(bp, aps, MAX_APS);
  if (n < 0) n = 0;
  for (int i = 0; i < n; ++i) {
    uint32_t page = TRAMPOLINE + 0x1000u * (unsigned)i;
    memcpy((void*)(uintptr_t)page, ap_start, (size_t)(ap_end - ap_start));
    lapic_icr(aps[i], 0x4500);               /* INIT */
    lapic_icr(aps[i], 0x4600 | (page >> 12)); /* SIPI */
    long spins = 200000;
    while (*ap_word(i, ap_count) == 0 && spins-- > 0) pause();
    if (*ap_word(i, ap_count) == 0) lapic_icr(aps[i], 0x4600 | (page >> 12));  /* second SIPI */
  }
  gprintf("counter up: %d pages, %d other cpus, disk %d, channel %d\n", PAGES, n, have_blk, have_con);
  for (uint64_t count = 0;;) {
    for (unsigned long i = 0; i < PAGES; ++i) {
      volatile uint64_t* p = (volatile uint64_t*)(BASE + i * 4096);
      if (p[0] != count || p[511] != count) {
        gprintf("MISMATCH page %lu holds %lu/%lu, count is %lu\n", i, p[0], p[511], count);
        return 1;
      }
      p[0] = count + 1;
      p[511] = count + 1;
    }
    ++count;
    if (count % 64) continue;
    gprintf("count %lu", count);
    for (int i = 0; i < n; ++i) {
      if (*(volatile uint8_t*)ap_word(i, ap_bad)) {
        gprintf("\nMISMATCH on cpu %u\n", aps[i]);
        return 1;
      }
      gprintf(" ap%u %u", aps[i], *ap_word(i, ap_count));
    }
    putc_serial('\n');
    if (report_to_devices(count)) return 1;
  }
}
