// Virtio over PCI, modern interface only (virtio 1.x, 4.1): vendor 0x1af4,
// device 0x1040 + type, and one 16 KiB BAR holding the common config (0x0),
// ISR (0x1000), device config (0x2000) and queue notify (0x3000, 4 bytes per
// queue). Queue notifies arrive on ioeventfds and are served on the VMM's I/O
// thread; used-buffer interrupts go out through an irqfd on the device's
// INTx line. Each concrete device (rng, blk, net, console) is one small file,
// which says what its own state is (save_device/load_device) beside the
// common virtio state saved here (features, status, queues).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "vmm/devices/pci.hpp"
#include "vmm/devices/virtqueue.hpp"
#include "vmm/event_loop.hpp"
#include "vmm/kvm.hpp"
#include "vmm/memory.hpp"

namespace berth::vmm {

struct VirtioContext {
  const Vm& vm;
  const GuestMemory& mem;
  EventLoop& loop;
};

class VirtioPciDevice : public PciDevice {
 public:
  static constexpr uint64_t kFeatureVersion1 = 1ull << 32;
  static constexpr uint8_t kStatusDriverOk = 4, kStatusNeedsReset = 0x40;

  VirtioPciDevice(uint16_t type, uint32_t class_code, int num_queues, uint64_t features,
                  std::string name);
  // Places BAR0 and wires the ioeventfds and the irqfd.
  void attach(VirtioContext& ctx, uint32_t bar, uint8_t irq);
  // The guest memory and I/O loop the device works with. attach() calls it;
  // unit tests call it alone to drive a device through its registers
  // (notifies then arrive as BAR writes) without /dev/kvm.
  void bind(const GuestMemory& mem, EventLoop& loop);

  void bar_read(uint64_t offset, uint8_t* data, uint32_t len) override;
  void bar_write(uint64_t offset, const uint8_t* data, uint32_t len) override;

  // While paused, queue notifies (and the devices' own events) are left
  // waiting; resume() serves every queue once, which takes up what came.
  void pause() override;
  void resume() override;
  void save(StateJson& out) override;
  void load(const StateJson& in) override;

 protected:
  // The device type's own state, with mu_ held; load_device() runs after
  // the common state is in place.
  virtual void save_device(StateJson& out) = 0;
  virtual void load_device(const StateJson& in) = 0;
  bool paused() const { return paused_; }

  // Called with mu_ held.
  virtual void process_queue(int q) = 0;
  virtual void config_read(uint64_t offset, uint8_t* data, uint32_t len) = 0;
  virtual void config_write(uint64_t, const uint8_t*, uint32_t) {}
  virtual void on_driver_ok() {}
  virtual void on_reset() {}
  virtual void on_bind() {}

  // Completes a chain and interrupts the guest. With mu_ held.
  void complete(int q, uint16_t head, uint32_t written);
  // The driver broke the ring: flag DEVICE_NEEDS_RESET and tell it.
  void fail_device(const std::string& why);
  void interrupt();
  bool driver_ok() const { return status_ & kStatusDriverOk; }
  uint64_t driver_features() const { return driver_features_; }

  const GuestMemory* mem_ = nullptr;
  EventLoop* loop_ = nullptr;
  std::mutex mu_;
  std::vector<Virtqueue> queues_;
  std::string name_;

 private:
  void common_read(uint64_t offset, uint8_t* data, uint32_t len);
  void common_write(uint64_t offset, const uint8_t* data, uint32_t len);
  void reset();

  uint64_t device_features_;
  uint64_t driver_features_ = 0;
  uint32_t device_feature_select_ = 0, driver_feature_select_ = 0;
  uint16_t queue_select_ = 0;
  uint8_t status_ = 0;
  uint8_t config_generation_ = 0;
  uint8_t isr_ = 0;
  bool paused_ = false;
  UniqueFd irqfd_;
  std::vector<UniqueFd> notify_fds_;
};

std::unique_ptr<VirtioPciDevice> make_virtio_rng();
// defer_lock: the disk is opened but locked only by claim_backend() (the
// target of a live migration, while the source still runs on it).
std::unique_ptr<VirtioPciDevice> make_virtio_blk(const std::string& path, bool readonly, bool defer_lock = false);
std::unique_ptr<VirtioPciDevice> make_virtio_net(const std::string& tap, const std::string& mac);
// Port 0 of a virtio-console, its host end a unix socket the VMM listens on.
std::unique_ptr<VirtioPciDevice> make_virtio_console(const std::string& socket_path);

}  // namespace berth::vmm
