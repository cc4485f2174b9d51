// virtio-rng (virtio 1.x, 5.4): one queue; every device-writable buffer is
// filled from getrandom(). No state beyond the common virtio one.
#include <sys/random.h>

#include <nlohmann/json.hpp>

#include "vmm/devices/virtio_pci.hpp"

namespace berth::vmm {

namespace {

class VirtioRng : public VirtioPciDevice {
 public:
  VirtioRng() : VirtioPciDevice(4, 0x00ff00, 1, 0, "virtio-rng") {}

 protected:
  void config_read(uint64_t, uint8_t* data, uint32_t len) override { store_le(data, len, 0); }
  void save_device(StateJson& out) override { out = StateJson::object(); }
  void load_device(const StateJson&) override {}
  void process_queue(int q) override {
    uint16_t head;
    std::vector<Virtqueue::Buf> bufs;
    for (;;) {
      auto r = queues_[0].pop(*mem_, &head, &bufs);
      if (r == Virtqueue::Pop::Empty) return;
      if (r == Virtqueue::Pop::BadRing) return fail_device("queue 0 rings lie outside guest memory");
      uint32_t written = 0;
      if (r == Virtqueue::Pop::Ok) {
        for (const auto& b : bufs) {
          if (!b.device_writes || b.len == 0) continue;
          // Cap one request so a guest cannot make the VMM block for long.
          uint32_t want = std::min<uint32_t>(b.len, 64 * 1024);
          ssize_t n = ::getrandom(mem_->ptr(b.gpa, want), want, 0);
          if (n > 0) written += static_cast<uint32_t>(n);
        }
      }
      complete(q, head, written);
    }
  }
};

}  // namespace

std::unique_ptr<VirtioPciDevice> make_virtio_rng() { return std::make_unique<VirtioRng>(); }

}  // namespace berth::vmm
