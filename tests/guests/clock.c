/* Prints the guest's kvmclock, for the tests of what the guest's time does
 * while a VM is paused, snapshotted or migrated. It enables kvmclock
 * (MSR_KVM_SYSTEM_TIME_NEW) and prints "clock N ms" each time the clock has
 * advanced by 100 ms, spinning in between: the guest's own view of its
 * monotonic time. Without kvmclock in CPUID it prints "no kvmclock" and
 * powers off. It never ends by itself otherwise. */
#include "lib.h"

#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

/* The pvclock ABI (Documentation/virt/kvm/x86/msr.rst). */
struct pvclock {
  uint32_t version, pad0;
  uint64_t tsc_timestamp, system_time;
  uint32_t tsc_to_system_mul;
  int8_t tsc_shift;
  uint8_t flags, pad[2];
};

static volatile struct pvclock pvc __attribute__((aligned(64)));

static void cpuid(uint32_t leaf, uint32_t* a, uint32_t* b, uint32_t* c, uint32_t* d) {
  __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t)hi << 32 | lo;
}

static void wrmsr(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t kvmclock_ns(void) {
  uint32_t v;
  uint64_t t;
  do {
    v = pvc.version;
    barrier();
    uint64_t delta = rdtsc() - pvc.tsc_timestamp;
    if (pvc.tsc_shift < 0) delta >>= -pvc.tsc_shift;
    else delta <<= pvc.tsc_shift;
    t = pvc.system_time + (uint64_t)(((unsigned __int128)delta * pvc.tsc_to_system_mul) >> 32);
    barrier();
  } while ((v & 1) || v != pvc.version);
  return t;
}

static int has_kvmclock(void) {
  uint32_t a, b, c, d;
  cpuid(0x40000000u, &a, &b, &c, &d);
  if (b != 0x4b4d564bu || c != 0x564b4d56u || d != 0x4du) return 0; /* "KVMKVMKVM\0\0\0" */
  cpuid(0x40000001u, &a, &b, &c, &d);
  return (a & KVM_FEATURE_CLOCKSOURCE2) != 0;
}

int guest_main(uint8_t* bp) {
  (void)bp;
  if (!has_kvmclock()) {
    puts_serial("no kvmclock\n");
    return 0;
  }
  wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)&pvc | 1);
  while (!pvc.version) pause();
  puts_serial("clock guest up\n");
  uint64_t next = 0;
  for (;;) {
    uint64_t ms = kvmclock_ns() / 1000000u;
    if (ms >= next) {
      gprintf("clock %lu ms\n", (unsigned long)ms);
      next = ms + 100;
    }
    pause();
  }
}
