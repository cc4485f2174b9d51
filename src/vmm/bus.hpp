// Port-I/O and MMIO dispatch: a device claims [base, base+size) and sees
// offsets relative to base. Unclaimed reads return all-ones, unclaimed writes
// are dropped, as on real hardware, so a guest poking random ports cannot
// hurt the VMM. Every device is Migratable (device_state.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "vmm/device_state.hpp"

namespace berth::vmm {

class BusDevice : public Migratable {
 public:
  virtual void read(uint64_t offset, uint8_t* data, uint32_t len) = 0;
  virtual void write(uint64_t offset, const uint8_t* data, uint32_t len) = 0;
};

class Bus {
 public:
  void add(uint64_t base, uint64_t size, BusDevice* dev) {
    ranges_.push_back({base, size, dev});
    std::sort(ranges_.begin(), ranges_.end(),
              [](const Range& a, const Range& b) { return a.base < b.base; });
  }
  // Returns false if no device claims addr.
  bool read(uint64_t addr, uint8_t* data, uint32_t len) const {
    if (const Range* r = find(addr)) {
      r->dev->read(addr - r->base, data, len);
      return true;
    }
    std::memset(data, 0xff, len);
    return false;
  }
  bool write(uint64_t addr, const uint8_t* data, uint32_t len) const {
    if (const Range* r = find(addr)) {
      r->dev->write(addr - r->base, data, len);
      return true;
    }
    return false;
  }

 private:
  struct Range {
    uint64_t base, size;
    BusDevice* dev;
  };
  const Range* find(uint64_t addr) const {
    for (const auto& r : ranges_)
      if (addr >= r.base && addr - r.base < r.size) return &r;
    return nullptr;
  }
  std::vector<Range> ranges_;
};

// Little-endian helpers for register files.
inline uint64_t load_le(const uint8_t* d, uint32_t len) {
  uint64_t v = 0;
  std::memcpy(&v, d, std::min<uint32_t>(len, 8));
  return v;
}
inline void store_le(uint8_t* d, uint32_t len, uint64_t v) {
  std::memset(d, 0, len);
  std::memcpy(d, &v, std::min<uint32_t>(len, 8));
}

}  // namespace berth::vmm
