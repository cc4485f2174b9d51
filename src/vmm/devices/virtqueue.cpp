#include "vmm/devices/virtqueue.hpp"

#include <atomic>
#include <nlohmann/json.hpp>

namespace berth::vmm {

namespace {
constexpr uint16_t kDescNext = 1, kDescWrite = 2;
struct Desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
}  // namespace

Virtqueue::Pop Virtqueue::pop(const GuestMemory& mem, uint16_t* head, std::vector<Buf>* bufs) {
  bufs->clear();
  if (!enabled || size == 0 || (size & (size - 1))) return Pop::BadRing;
  auto avail_idx = mem.read<uint16_t>(avail + 2);
  if (!avail_idx || !mem.peek(avail, 6 + 2ull * size) || !mem.peek(desc, 16ull * size))
    return Pop::BadRing;
  if (*avail_idx == last_avail_) return Pop::Empty;
  if (static_cast<uint16_t>(*avail_idx - last_avail_) > size) return Pop::BadRing;
  std::atomic_thread_fence(std::memory_order_acquire);
  uint16_t h = *mem.read<uint16_t>(avail + 4 + 2ull * (last_avail_ % size));
  ++last_avail_;
  *head = h;
  if (h >= size) return Pop::BadChain;
  uint16_t i = h;
  for (uint32_t n = 0;; ++n) {
    if (n >= size || i >= size) return Pop::BadChain;  // loop or bad index
    Desc d = *mem.read<Desc>(desc + 16ull * i);
    if (d.len && !mem.peek(d.addr, d.len)) return Pop::BadChain;
    bufs->push_back({d.addr, d.len, (d.flags & kDescWrite) != 0});
    if (!(d.flags & kDescNext)) break;
    i = d.next;
  }
  return Pop::Ok;
}

bool Virtqueue::push(const GuestMemory& mem, uint16_t head, uint32_t written) {
  uint8_t* ring = mem.ptr(used, 6 + 8ull * size);
  if (!ring) return false;
  uint32_t elem[2] = {head, written};
  std::memcpy(ring + 4 + 8ull * (used_idx_ % size), elem, 8);
  std::atomic_thread_fence(std::memory_order_release);
  ++used_idx_;
  std::memcpy(ring + 2, &used_idx_, 2);
  return true;
}

void Virtqueue::save(StateJson& out) const {
  out = {{"size", size}, {"enabled", enabled}, {"msix_vector", msix_vector}, {"desc", desc},
         {"avail", avail}, {"used", used}, {"last_avail", last_avail_}, {"used_idx", used_idx_}};
}

void Virtqueue::load(const StateJson& in, const std::string& who) {
  auto s = static_cast<uint16_t>(state_uint(in, "size", who, kMaxSize));
  if (s == 0 || (s & (s - 1))) state_error(who, "queue size " + std::to_string(s) + " is not a power of two");
  size = s;
  enabled = state_bool(in, "enabled", who);
  msix_vector = static_cast<uint16_t>(state_uint(in, "msix_vector", who, 0xffff));
  desc = state_uint(in, "desc", who);
  avail = state_uint(in, "avail", who);
  used = state_uint(in, "used", who);
  last_avail_ = static_cast<uint16_t>(state_uint(in, "last_avail", who, 0xffff));
  used_idx_ = static_cast<uint16_t>(state_uint(in, "used_idx", who, 0xffff));
}

}  // namespace berth::vmm
