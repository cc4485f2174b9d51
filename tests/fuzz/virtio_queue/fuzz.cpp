// The split virtqueue walker (src/vmm/devices/virtqueue.cpp) fed hostile
// rings: the input lays out a queue (size, and ring addresses that may
// straddle the end of guest RAM or lie far outside it) and fills the first
// 64 KiB of guest RAM, descriptor tables included, so chains loop, point
// outside guest memory, wrap around 2^64 and carry lengths that overflow.
// Every chain pop() returns must lie in guest RAM, as a device then
// touches each of its bytes; the walk must end (libFuzzer's -timeout and
// -rss_limit_mb catch a chain that does not).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "vmm/devices/virtqueue.hpp"
#include "vmm/memory.hpp"

using namespace berth;
using namespace berth::vmm;

namespace {

constexpr uint64_t kRam = 2 * kMiB;
constexpr uint64_t kWindow = 64 * 1024;  // what the input writes

struct Input {
  const uint8_t* p;
  size_t n;
  uint64_t take(size_t bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes && n; ++i, ++p, --n) v |= uint64_t{*p} << (8 * i);
    return v;
  }
};

// Mostly inside the window; else near the end of RAM (straddling it) or raw.
uint64_t address(Input& in) {
  uint32_t v = static_cast<uint32_t>(in.take(4));
  switch (v >> 30) {
    case 0:
    case 1: return v % kWindow;
    case 2: return kRam - (v % 8192);
    default: return ~uint64_t{0} - (v % 8192);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuestMemory mem(kRam);
  uint8_t* ram = mem.ptr(0, kWindow);
  std::memset(ram, 0, kWindow);
  Input in{data, size};
  Virtqueue q;
  uint8_t sz = static_cast<uint8_t>(in.take(1));
  // Any size up to kMaxSize, powers of two or not: the register write and
  // a snapshot's load refuse larger ones, so pop() may rely on that.
  q.size = sz & 0x80 ? static_cast<uint16_t>(in.take(2) % (Virtqueue::kMaxSize + 1))
                     : static_cast<uint16_t>(1u << (sz % 9));
  q.enabled = true;
  q.desc = address(in);
  q.avail = address(in);
  q.used = address(in);
  int rounds = static_cast<int>(in.take(1) % 8) + 1;
  std::memcpy(ram, in.p, std::min<uint64_t>(in.n, kWindow));

  std::vector<Virtqueue::Buf> bufs;
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < 600; ++i) {  // more than the largest queue holds
      uint16_t head = 0;
      Virtqueue::Pop p = q.pop(mem, &head, &bufs);
      if (p == Virtqueue::Pop::Empty || p == Virtqueue::Pop::BadRing) break;
      if (p == Virtqueue::Pop::BadChain) {
        q.push(mem, head, 0);
        continue;
      }
      FUZZ_CHECK(!bufs.empty() && bufs.size() <= q.size, "a chain longer than the queue");
      uint32_t written = 0;
      for (const auto& b : bufs) {
        if (!b.len) continue;
        const uint8_t* host = mem.peek(b.gpa, b.len);
        FUZZ_CHECK(host, "a buffer outside guest RAM: gpa " + std::to_string(b.gpa) + " len " + std::to_string(b.len));
        // What a device does: read the first and last byte, write some.
        volatile uint8_t first = host[0], last = host[b.len - 1];
        (void)first;
        (void)last;
        if (b.device_writes) written += b.len;
      }
      q.push(mem, head, written);
    }
    // The driver offers more from the same ring: bump avail.idx.
    if (auto idx = mem.read<uint16_t>(q.avail + 2)) mem.write<uint16_t>(q.avail + 2, static_cast<uint16_t>(*idx + 1));
  }
  return 0;
}
