// A virtio-pci driver inside the test process: it programs a device through
// its BAR registers and lays split rings out in a GuestMemory, as the tiny
// guests do, so device code runs without /dev/kvm (notifies arrive as BAR
// writes, which the device serves on the calling thread).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "vmm/devices/virtio_pci.hpp"

namespace berth::vmm {

class FakeVirtioDriver {
 public:
  static constexpr uint16_t kSize = 8;
  struct Buf {
    uint64_t gpa;
    uint32_t len;
    bool device_writes;
  };
  struct Used {
    uint16_t head;
    uint32_t len;
  };

  FakeVirtioDriver(VirtioPciDevice& dev, const GuestMemory& mem) : dev_(dev), mem_(mem) {}

  // Reset, VERSION_1, nq queues of kSize at 0x10000 + 0x1000 * q, DRIVER_OK.
  void start(int nq) {
    w8(0x14, 0);
    w8(0x14, 1 | 2);
    w32(0x08, 1);
    w32(0x0c, 1);  // VERSION_1 (feature bit 32)
    w8(0x14, 1 | 2 | 8);
    queues_.assign(static_cast<size_t>(nq), Queue{});
    for (int q = 0; q < nq; ++q) {
      uint64_t base = 0x10000 + 0x1000ull * static_cast<uint64_t>(q);
      write(0x16, static_cast<uint16_t>(q), 2);
      write(0x18, kSize, 2);
      write(0x20, base, 8);
      write(0x28, base + 0x200, 8);
      write(0x30, base + 0x400, 8);
      write(0x1c, 1, 2);
    }
    w8(0x14, 1 | 2 | 8 | 4);
  }
  uint8_t status() {
    uint8_t s = 0;
    dev_.bar_read(0x14, &s, 1);
    return s;
  }

  // Offers one chain on queue q and notifies; returns its head.
  uint16_t submit(int q, const std::vector<Buf>& chain) {
    Queue& v = queues_[static_cast<size_t>(q)];
    uint64_t base = 0x10000 + 0x1000ull * static_cast<uint64_t>(q);
    uint16_t head = v.next_desc;
    for (size_t i = 0; i < chain.size(); ++i) {
      uint16_t d = static_cast<uint16_t>((head + i) % kSize);
      bool more = i + 1 < chain.size();
      mem_.write<uint64_t>(base + 16 * d, chain[i].gpa);
      mem_.write<uint32_t>(base + 16 * d + 8, chain[i].len);
      mem_.write<uint16_t>(base + 16 * d + 12, static_cast<uint16_t>((more ? 1 : 0) | (chain[i].device_writes ? 2 : 0)));
      mem_.write<uint16_t>(base + 16 * d + 14, static_cast<uint16_t>((d + 1) % kSize));
    }
    v.next_desc = static_cast<uint16_t>((head + chain.size()) % kSize);
    mem_.write<uint16_t>(base + 0x200 + 4 + 2 * (v.avail_idx % kSize), head);
    mem_.write<uint16_t>(base + 0x200 + 2, ++v.avail_idx);
    notify(q);
    return head;
  }
  // Carries on with the queues of `other` (the same rings, on a device
  // restored from the state of other's device).
  void adopt(const FakeVirtioDriver& other) { queues_ = other.queues_; }
  void notify(int q) { write(0x3000 + 4 * static_cast<uint64_t>(q), static_cast<uint16_t>(q), 2); }

  // The next used element of queue q, if the device returned one.
  std::optional<Used> used(int q) {
    Queue& v = queues_[static_cast<size_t>(q)];
    uint64_t ring = 0x10000 + 0x1000ull * static_cast<uint64_t>(q) + 0x400;
    if (*mem_.read<uint16_t>(ring + 2) == v.used_seen) return std::nullopt;
    uint64_t e = ring + 4 + 8ull * (v.used_seen++ % kSize);
    return Used{static_cast<uint16_t>(*mem_.read<uint32_t>(e)), *mem_.read<uint32_t>(e + 4)};
  }

  void write(uint64_t off, uint64_t v, uint32_t len) {
    uint8_t b[8];
    store_le(b, len, v);
    dev_.bar_write(off, b, len);
  }

 private:
  struct Queue {
    uint16_t next_desc = 0, avail_idx = 0, used_seen = 0;
  };
  void w8(uint64_t off, uint8_t v) { write(off, v, 1); }
  void w32(uint64_t off, uint32_t v) { write(off, v, 4); }

  VirtioPciDevice& dev_;
  const GuestMemory& mem_;
  std::vector<Queue> queues_;
};

}  // namespace berth::vmm
