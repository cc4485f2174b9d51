/* The tiny guests' runtime: port I/O, a serial console printf, boot_params
 * and ACPI readers, PCI config access and a polling virtio-pci driver. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline void pause(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

#define MMIO8(a) (*(volatile uint8_t*)(uintptr_t)(a))
#define MMIO16(a) (*(volatile uint16_t*)(uintptr_t)(a))
#define MMIO32(a) (*(volatile uint32_t*)(uintptr_t)(a))
#define MMIO64(a) (*(volatile uint64_t*)(uintptr_t)(a))

void* memcpy(void* d, const void* s, size_t n);
void* memset(void* d, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);

void putc_serial(char c);
void puts_serial(const char* s);
void gprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/* Set by the PVH entry: guest-physical address of struct hvm_start_info. */
extern uint32_t pvh_start_info;

/* Each guest defines this; 0 = pass. The runtime prints RESULT and powers off. */
int guest_main(uint8_t* boot_params);

uint32_t fnv1a(const void* p, size_t n);

/* ACPI: the table with this signature via boot_params.acpi_rsdp_addr, or 0. */
const uint8_t* acpi_find(const uint8_t* boot_params, const char sig[4]);
void acpi_poweroff(const uint8_t* boot_params);
void i8042_reset(void);

/* Local APIC: software-enable it; send an IPI (ICR, waits for delivery). */
void lapic_enable(void);
uint32_t lapic_id(void);
void lapic_icr(uint32_t dest_apic, uint32_t low);
/* APIC ids of the enabled CPUs the MADT lists, boot CPU excluded (at most
 * max); -1 without a MADT. */
int madt_aps(const uint8_t* boot_params, uint32_t* ids, int max);

/* PCI config mechanism #1, bus 0. */
uint32_t pci_read32(int dev, int reg);
void pci_write32(int dev, int reg, uint32_t v);
uint16_t pci_read16(int dev, int reg);
uint8_t pci_read8(int dev, int reg);

/* Polling virtio-pci (modern) driver. */
#define VQ_SIZE 8
struct vring {
  uint64_t desc_pa;      /* struct { u64 addr; u32 len; u16 flags, next; }[VQ_SIZE] */
  uint64_t avail_pa, used_pa;
  uint16_t next_avail, last_used;
  uint16_t notify_off;
};
struct vdev {
  int pci_dev;
  uint64_t common, isr, device, notify;
  uint32_t notify_mult;
  struct vring q[2];
};
/* Finds virtio device `type` (1 net, 2 blk, 3 console, 4 rng); 0 on success. */
int virtio_find(int type, struct vdev* d);
/* Reset, negotiate VERSION_1 plus `features`, set up nq queues, DRIVER_OK. */
int virtio_start(struct vdev* d, uint64_t features, int nq);
/* Queues one chain of n buffers (write[i]: device writes), rings the
 * doorbell; returns the head index. */
int virtio_submit(struct vdev* d, int q, int n, const uint64_t* addr, const uint32_t* len,
                  const int* write);
/* Waits for the next used element; returns its len, or -1 on timeout. */
long virtio_wait(struct vdev* d, int q, long spins);
uint8_t virtio_status(struct vdev* d);
