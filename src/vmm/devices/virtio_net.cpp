// virtio-net (virtio 1.x, 5.1) on a tap device: queue 0 receives, queue 1
// transmits. The tap carries the 12-byte virtio_net_hdr itself
// (IFF_VNET_HDR), so frames move between the ring and the tap with one
// readv/writev and no copy in the VMM. Its state is its MAC (random unless
// given, so it must be kept); the tap is the host's, named by the config.
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "common/error.hpp"
#include "vmm/devices/virtio_pci.hpp"

namespace berth::vmm {

namespace {

constexpr uint64_t kFMac = 1ull << 5;
constexpr uint32_t kHdrLen = 12;

class VirtioNet : public VirtioPciDevice {
 public:
  VirtioNet(const std::string& tap, const std::string& mac)
      : VirtioPciDevice(1, 0x020000, 2, kFMac, "virtio-net " + tap), tap_name_(tap) {
    if (tap.empty() || tap.size() >= IFNAMSIZ) fail("invalid tap device name '" + tap + "'");
    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw_errno("open /dev/net/tun for tap " + tap);
    tap_.reset(fd);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, tap.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    check(::ioctl(fd, TUNSETIFF, &ifr), "attach to tap device " + tap);
    int hdr = kHdrLen;
    check(::ioctl(fd, TUNSETVNETHDRSZ, &hdr), "set vnet header size on tap " + tap);
    // Bring the link up: a down tap drops what the guest sends.
    UniqueFd s(static_cast<int>(check(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket for tap " + tap)));
    ifreq up{};
    std::strncpy(up.ifr_name, tap.c_str(), IFNAMSIZ - 1);
    check(::ioctl(s.get(), SIOCGIFFLAGS, &up), "get flags of tap " + tap);
    up.ifr_flags |= IFF_UP;
    check(::ioctl(s.get(), SIOCSIFFLAGS, &up), "bring up tap " + tap);
    if (mac.empty()) {
      std::random_device rd;
      mac_[0] = 0x52; mac_[1] = 0x54; mac_[2] = 0x00;
      for (int i = 3; i < 6; ++i) mac_[i] = static_cast<uint8_t>(rd());
    } else {
      unsigned m[6];
      if (std::sscanf(mac.c_str(), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
        fail("invalid MAC address '" + mac + "'");
      for (int i = 0; i < 6; ++i) mac_[i] = static_cast<uint8_t>(m[i]);
    }
  }

 protected:
  void config_read(uint64_t off, uint8_t* data, uint32_t len) override {
    uint8_t c[8] = {};
    std::memcpy(c, mac_, 6);
    if (off + len <= sizeof c) std::memcpy(data, c + off, len);
    else store_le(data, len, 0);
  }

  void save_device(StateJson& out) override { out = {{"tap", tap_name_}, {"mac", state_blob(mac_, 6)}}; }
  void load_device(const StateJson& in) override {
    state_exact(in, "mac", name_, mac_, 6);
    if (driver_ok()) watch_tap();
  }

  void on_driver_ok() override { watch_tap(); }
  void on_reset() override { unwatch_tap(); }

  void process_queue(int q) override {
    if (q == 0) {
      watch_tap();  // new receive buffers: take frames again
      receive();
    } else {
      transmit();
    }
  }

 public:
  void release_backend() override {
    std::lock_guard<std::mutex> l(mu_);
    unwatch_tap();
    tap_.reset();
  }

 private:
  void watch_tap() {
    if (watching_ || !loop_) return;
    watching_ = true;
    loop_->add(tap_.get(), [this] {
      std::lock_guard<std::mutex> l(mu_);
      receive();
    });
  }
  void unwatch_tap() {
    if (!watching_) return;
    watching_ = false;
    loop_->remove(tap_.get());
  }

  void receive() {
    if (paused()) {
      unwatch_tap();  // frames wait in the tap; resume() serves queue 0 again
      return;
    }
    if (!driver_ok() || !queues_[0].enabled) return;
    for (;;) {
      uint16_t head;
      std::vector<Virtqueue::Buf> bufs;
      // Peek first: a frame waits in the tap until the guest gives a buffer.
      auto r = queues_[0].pop(*mem_, &head, &bufs);
      if (r == Virtqueue::Pop::Empty) {
        unwatch_tap();  // resumed by the next rx notify
        return;
      }
      if (r == Virtqueue::Pop::BadRing) return fail_device("receive rings lie outside guest memory");
      std::vector<iovec> iov;
      for (const auto& b : bufs)
        if (b.device_writes && b.len) iov.push_back({mem_->ptr(b.gpa, b.len), b.len});
      if (r != Virtqueue::Pop::Ok || iov.empty()) {
        complete(0, head, 0);
        continue;
      }
      ssize_t n = ::readv(tap_.get(), iov.data(), static_cast<int>(iov.size()));
      if (n < 0) {
        // No frame: the chain stays ours until one arrives.
        rewind();
        return;
      }
      complete(0, head, static_cast<uint32_t>(n));
    }
  }

  // Gives back a popped but unused receive chain by stepping the queue back.
  void rewind() { queues_[0].unpop(); }

  void transmit() {
    for (;;) {
      uint16_t head;
      std::vector<Virtqueue::Buf> bufs;
      auto r = queues_[1].pop(*mem_, &head, &bufs);
      if (r == Virtqueue::Pop::Empty) return;
      if (r == Virtqueue::Pop::BadRing) return fail_device("transmit rings lie outside guest memory");
      if (r == Virtqueue::Pop::Ok) {
        std::vector<iovec> iov;
        size_t total = 0;
        for (const auto& b : bufs)
          if (!b.device_writes && b.len) {
            iov.push_back({mem_->ptr(b.gpa, b.len), b.len});
            total += b.len;
          }
        if (total > kHdrLen)  // a frame the tap refuses is dropped, like a wire would
          [[maybe_unused]] ssize_t n = ::writev(tap_.get(), iov.data(), static_cast<int>(iov.size()));
      }
      complete(1, head, 0);
    }
  }

  std::string tap_name_;
  UniqueFd tap_;
  uint8_t mac_[6] = {};
  bool watching_ = false;
};

}  // namespace

std::unique_ptr<VirtioPciDevice> make_virtio_net(const std::string& tap, const std::string& mac) {
  return std::make_unique<VirtioNet>(tap, mac);
}

}  // namespace berth::vmm
