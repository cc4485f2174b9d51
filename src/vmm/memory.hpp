// Guest RAM: one or more memfd-backed regions mapped into the VMM and handed
// to KVM. RAM above the 32-bit PCI hole lives in a second region at 4 GiB.
// A restored VM's RAM is instead the snapshot's memory file mapped
// MAP_PRIVATE: pages are read on first touch and the guest's writes stay
// private to this VMM, so restoring costs the same at any memory size.
// Every guest-physical access from a device goes through ptr(), which checks
// bounds, so a guest pointing a ring outside its memory gets nullptr, not a
// VMM crash.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.hpp"

namespace berth::vmm {

inline constexpr uint64_t kMiB = 1ull << 20;
inline constexpr uint64_t kGiB = 1ull << 30;
// [3 GiB, 4 GiB) holds PCI BARs, the IOAPIC and the local APICs.
inline constexpr uint64_t kMmioHoleStart = 3 * kGiB;
inline constexpr uint64_t kMmioHoleEnd = 4 * kGiB;

// This host's RAM (MemTotal), the most a VM may have; 0 if unknown.
uint64_t host_ram();

class GuestMemory {
 public:
  struct Region {
    uint64_t gpa = 0;
    uint64_t size = 0;
    uint8_t* host = nullptr;
    UniqueFd memfd;      // or the snapshot file, for a restored VM
    uint64_t offset = 0;  // of this region in a snapshot's memory file
  };

  explicit GuestMemory(uint64_t size);
  // RAM of `size` bytes mapped MAP_PRIVATE from a snapshot's memory file
  // (regions one after another), which must be exactly that long.
  GuestMemory(uint64_t size, const std::string& snapshot_memory);
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory();

  uint64_t size() const { return size_; }
  const std::vector<Region>& regions() const { return regions_; }

  // Host pointer to [gpa, gpa+len) if it lies inside one region, else null.
  // While device writes are tracked, the range counts as written.
  uint8_t* ptr(uint64_t gpa, uint64_t len) const;
  // The same, for reading only: never counts as written.
  const uint8_t* peek(uint64_t gpa, uint64_t len) const { return find(gpa, len); }

  template <class T>
  std::optional<T> read(uint64_t gpa) const {
    const uint8_t* p = peek(gpa, sizeof(T));
    if (!p) return std::nullopt;
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  template <class T>
  bool write(uint64_t gpa, const T& v) const {
    uint8_t* p = ptr(gpa, sizeof(T));
    if (!p) return false;
    std::memcpy(p, &v, sizeof v);
    return true;
  }
  // Throws if the range is outside guest RAM (used by the loaders).
  void copy_in(uint64_t gpa, const void* data, uint64_t len) const;
  // Guest-physical address of a host pointer into RAM (device state keeps
  // guest addresses, never host ones); nullopt if p is not guest RAM.
  std::optional<uint64_t> gpa_of(const void* p) const;

  // Writes RAM to fd as a snapshot's memory file: regions one after
  // another, the file sized to size(); pages that were never written, or
  // hold only zeros, stay holes. Returns the bytes written.
  uint64_t save_to(int fd, const std::string& what) const;
  // Calls fn(offset, len) for each run of pages of region r that hold data
  // (as save_to() writes them).
  void for_each_data_run(size_t r, const std::function<void(uint64_t, uint64_t)>& fn) const;

  // Live migration: KVM logs what the vCPUs write, but devices write guest
  // RAM through ptr() on the VMM's threads; while tracking, every range
  // ptr() hands out is marked (reads too: a few pages more, never fewer).
  // (Tracking is bookkeeping beside RAM, not RAM: const like ptr().)
  void track_device_writes(bool on) const;
  // The pages of region r marked since the last call (a bit per page).
  std::vector<uint64_t> take_device_writes(size_t r) const;

 private:
  uint8_t* find(uint64_t gpa, uint64_t len) const;
  struct Tracking {
    std::vector<std::unique_ptr<std::atomic<uint64_t>[]>> bits;  // per region
  };
  mutable std::unique_ptr<Tracking> tracking_;
  mutable std::atomic<bool> tracking_on_{false};
  bool file_backed_ = false;
  uint64_t size_;
  std::vector<Region> regions_;
};

}  // namespace berth::vmm
