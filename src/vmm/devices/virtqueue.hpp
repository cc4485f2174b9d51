// A split virtqueue (virtio 1.x, 2.7) read and written through GuestMemory's
// bounds checks. A ring or buffer outside guest RAM makes that request fail;
// it never makes the VMM touch memory it does not own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vmm/device_state.hpp"
#include "vmm/memory.hpp"

namespace berth::vmm {

class Virtqueue {
 public:
  static constexpr uint16_t kMaxSize = 256;
  struct Buf {
    uint64_t gpa;
    uint32_t len;
    bool device_writes;  // VIRTQ_DESC_F_WRITE
  };
  enum class Pop { Empty, Ok, BadChain, BadRing };

  void reset() { *this = Virtqueue{}; }

  // Takes the next available chain. BadChain: the chain is consumed but a
  // descriptor is malformed (the device fails the request); BadRing: the
  // rings themselves are unusable (the device needs a reset).
  Pop pop(const GuestMemory& mem, uint16_t* head, std::vector<Buf>* bufs);
  // Returns the chain to the driver; false if the used ring is unusable.
  bool push(const GuestMemory& mem, uint16_t head, uint32_t written);
  // Puts the last popped chain back (the device could not use it yet).
  void unpop() { --last_avail_; }

  void save(StateJson& out) const;
  // Corrupt naming `who` for a size that is not a power of two up to kMaxSize.
  void load(const StateJson& in, const std::string& who);

  uint16_t size = kMaxSize;
  bool enabled = false;
  uint16_t msix_vector = 0xffff;
  uint64_t desc = 0, avail = 0, used = 0;

 private:
  uint16_t last_avail_ = 0;
  uint16_t used_idx_ = 0;
};

}  // namespace berth::vmm
