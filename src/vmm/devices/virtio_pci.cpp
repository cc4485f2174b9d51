#include "vmm/devices/virtio_pci.hpp"

#include <sys/eventfd.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/log.hpp"

namespace berth::vmm {

namespace {
constexpr uint64_t kCommon = 0x0000, kIsr = 0x1000, kDevice = 0x2000, kNotify = 0x3000;
constexpr uint32_t kNotifyMultiplier = 4;

// struct virtio_pci_cap (+ notify_off_multiplier for the notify cap).
void virtio_cap(uint8_t* c, uint8_t len, uint8_t type, uint32_t offset, uint32_t length) {
  std::memset(c, 0, len);
  c[0] = 0x09;  // vendor-specific
  c[2] = len;
  c[3] = type;
  c[4] = 0;     // BAR0
  std::memcpy(c + 8, &offset, 4);
  std::memcpy(c + 12, &length, 4);
}
}  // namespace

VirtioPciDevice::VirtioPciDevice(uint16_t type, uint32_t class_code, int num_queues,
                                 uint64_t features, std::string name)
    : PciDevice(0x1af4, static_cast<uint16_t>(0x1040 + type), class_code, 1),
      queues_(static_cast<size_t>(num_queues)),
      name_(std::move(name)),
      device_features_(features | kFeatureVersion1) {
  uint16_t sub_vendor = 0x1af4, sub_id = static_cast<uint16_t>(0x1040 + type);
  std::memcpy(cfg_ + 0x2c, &sub_vendor, 2);
  std::memcpy(cfg_ + 0x2e, &sub_id, 2);
  uint8_t c[20];
  virtio_cap(c, 16, 1, kCommon, 0x38);
  add_capability(c, 16);
  virtio_cap(c, 20, 2, kNotify, 0x1000);
  std::memcpy(c + 16, &kNotifyMultiplier, 4);
  add_capability(c, 20);
  virtio_cap(c, 16, 3, kIsr, 4);
  add_capability(c, 16);
  virtio_cap(c, 16, 4, kDevice, 0x1000);
  add_capability(c, 16);
}

void VirtioPciDevice::bind(const GuestMemory& mem, EventLoop& loop) {
  mem_ = &mem;
  loop_ = &loop;
  on_bind();
}

void VirtioPciDevice::attach(VirtioContext& ctx, uint32_t bar, uint8_t irq) {
  bind(ctx.mem, ctx.loop);
  set_bar0(bar, 0x4000);
  set_irq_line(irq);
  irqfd_.reset(static_cast<int>(check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "create irqfd for " + name_)));
  ctx.vm.add_irqfd(irqfd_.get(), irq);
  for (size_t q = 0; q < queues_.size(); ++q) {
    UniqueFd fd(static_cast<int>(check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "create ioeventfd for " + name_)));
    ctx.vm.add_ioeventfd(fd.get(), bar + kNotify + q * kNotifyMultiplier, 2, false);
    int raw = fd.get();
    ctx.loop.add(raw, [this, raw, q] {
      uint64_t v;
      [[maybe_unused]] ssize_t n = ::read(raw, &v, 8);
      std::lock_guard<std::mutex> l(mu_);
      if (driver_ok() && queues_[q].enabled && !paused_) process_queue(static_cast<int>(q));
    });
    notify_fds_.push_back(std::move(fd));
  }
}

void VirtioPciDevice::interrupt() {
  isr_ |= 1;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(irqfd_.get(), &one, 8);
}

void VirtioPciDevice::complete(int q, uint16_t head, uint32_t written) {
  if (!queues_[static_cast<size_t>(q)].push(*mem_, head, written)) {
    fail_device("used ring of queue " + std::to_string(q) + " is outside guest memory");
    return;
  }
  interrupt();
}

void VirtioPciDevice::fail_device(const std::string& why) {
  if (status_ & kStatusNeedsReset) return;
  log::warn(name_ + ": " + why + "; device needs reset");
  status_ |= kStatusNeedsReset;
  isr_ |= 2;  // configuration change
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(irqfd_.get(), &one, 8);
}

void VirtioPciDevice::reset() {
  for (auto& q : queues_) q.reset();
  driver_features_ = 0;
  status_ = 0;
  isr_ = 0;
  queue_select_ = 0;
  on_reset();
}

void VirtioPciDevice::pause() {
  std::lock_guard<std::mutex> l(mu_);
  paused_ = true;
}

void VirtioPciDevice::resume() {
  std::lock_guard<std::mutex> l(mu_);
  paused_ = false;
  if (!driver_ok() || (status_ & kStatusNeedsReset)) return;
  for (size_t q = 0; q < queues_.size(); ++q)
    if (queues_[q].enabled) process_queue(static_cast<int>(q));
}

void VirtioPciDevice::save(StateJson& out) {
  StateJson pci;
  PciDevice::save(pci);
  std::lock_guard<std::mutex> l(mu_);
  StateJson queues = StateJson::array();
  for (const auto& q : queues_) {
    StateJson j;
    q.save(j);
    queues.push_back(std::move(j));
  }
  StateJson device;
  save_device(device);
  out = {{"pci", std::move(pci)},
         {"device_features", device_features_},
         {"driver_features", driver_features_},
         {"device_feature_select", device_feature_select_},
         {"driver_feature_select", driver_feature_select_},
         {"queue_select", queue_select_},
         {"status", status_},
         {"config_generation", config_generation_},
         {"isr", isr_},
         {"queues", std::move(queues)},
         {"device", std::move(device)}};
}

void VirtioPciDevice::load(const StateJson& in) {
  PciDevice::load(state_object(in, "pci", name_));
  std::lock_guard<std::mutex> l(mu_);
  uint64_t offered = state_uint(in, "device_features", name_);
  if (offered != device_features_)
    state_error(name_, "the snapshot's device offered features 0x" + [&] {
      char b[40];
      snprintf(b, sizeof b, "%llx, this one 0x%llx", static_cast<unsigned long long>(offered),
               static_cast<unsigned long long>(device_features_));
      return std::string(b);
    }() + " (is a disk read-only now that was not, or the other way?)");
  driver_features_ = state_uint(in, "driver_features", name_);
  if (driver_features_ & ~device_features_) state_error(name_, "the driver took features the device never offered");
  device_feature_select_ = static_cast<uint32_t>(state_uint(in, "device_feature_select", name_, UINT32_MAX));
  driver_feature_select_ = static_cast<uint32_t>(state_uint(in, "driver_feature_select", name_, UINT32_MAX));
  queue_select_ = static_cast<uint16_t>(state_uint(in, "queue_select", name_, 0xffff));
  status_ = static_cast<uint8_t>(state_uint(in, "status", name_, 0xff));
  config_generation_ = static_cast<uint8_t>(state_uint(in, "config_generation", name_, 0xff));
  isr_ = static_cast<uint8_t>(state_uint(in, "isr", name_, 0xff));
  const StateJson& queues = state_array(in, "queues", name_, queues_.size());
  if (queues.size() != queues_.size())
    state_error(name_, "has " + std::to_string(queues.size()) + " queues, this device " + std::to_string(queues_.size()));
  for (size_t q = 0; q < queues_.size(); ++q) queues_[q].load(queues[q], name_ + " queue " + std::to_string(q));
  load_device(state_object(in, "device", name_));
}

void VirtioPciDevice::bar_read(uint64_t offset, uint8_t* data, uint32_t len) {
  std::lock_guard<std::mutex> l(mu_);
  if (offset < kIsr) {
    common_read(offset, data, len);
  } else if (offset < kDevice) {
    store_le(data, len, offset == kIsr ? isr_ : 0);
    if (offset == kIsr) isr_ = 0;  // reading ISR acknowledges it
  } else if (offset < kNotify) {
    config_read(offset - kDevice, data, len);
  } else {
    store_le(data, len, 0);
  }
}

void VirtioPciDevice::bar_write(uint64_t offset, const uint8_t* data, uint32_t len) {
  std::lock_guard<std::mutex> l(mu_);
  if (offset < kIsr) {
    common_write(offset, data, len);
  } else if (offset >= kDevice && offset < kNotify) {
    config_write(offset - kDevice, data, len);
  } else if (offset >= kNotify) {
    // A notify the ioeventfd did not catch (other width): serve it here.
    uint64_t q = (offset - kNotify) / kNotifyMultiplier;
    if (q < queues_.size() && driver_ok() && queues_[q].enabled && !paused_) process_queue(static_cast<int>(q));
  }
}

void VirtioPciDevice::common_read(uint64_t off, uint8_t* data, uint32_t len) {
  Virtqueue* q = queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
  uint64_t v = 0;
  switch (off) {
    case 0x00: v = device_feature_select_; break;
    case 0x04: v = device_feature_select_ < 2 ? device_features_ >> (32 * device_feature_select_) : 0;
      v &= 0xffffffff; break;
    case 0x08: v = driver_feature_select_; break;
    case 0x0c: v = driver_feature_select_ < 2 ? (driver_features_ >> (32 * driver_feature_select_)) & 0xffffffff : 0; break;
    case 0x10: v = 0xffff; break;  // config_msix_vector: no MSI-X
    case 0x12: v = queues_.size(); break;
    case 0x14: v = status_; break;
    case 0x15: v = config_generation_; break;
    case 0x16: v = queue_select_; break;
    case 0x18: v = q ? q->size : 0; break;
    case 0x1a: v = 0xffff; break;
    case 0x1c: v = q ? q->enabled : 0; break;
    case 0x1e: v = queue_select_; break;  // notify offset = queue index
    case 0x20: v = q ? q->desc : 0; break;
    case 0x24: v = q ? q->desc >> 32 : 0; break;
    case 0x28: v = q ? q->avail : 0; break;
    case 0x2c: v = q ? q->avail >> 32 : 0; break;
    case 0x30: v = q ? q->used : 0; break;
    case 0x34: v = q ? q->used >> 32 : 0; break;
    default: break;
  }
  store_le(data, len, v);
}

void VirtioPciDevice::common_write(uint64_t off, const uint8_t* data, uint32_t len) {
  uint64_t v = load_le(data, len);
  Virtqueue* q = queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
  auto set_lo = [&](uint64_t& f) { f = (f & ~0xffffffffull) | (v & 0xffffffff); };
  auto set_hi = [&](uint64_t& f) { f = (f & 0xffffffffull) | (v << 32); };
  switch (off) {
    case 0x00: device_feature_select_ = static_cast<uint32_t>(v); break;
    case 0x08: driver_feature_select_ = static_cast<uint32_t>(v); break;
    case 0x0c:
      if (driver_feature_select_ < 2) {
        uint64_t mask = 0xffffffffull << (32 * driver_feature_select_);
        driver_features_ = (driver_features_ & ~mask) |
                           ((v << (32 * driver_feature_select_)) & mask & device_features_);
      }
      break;
    case 0x14:
      if (v == 0) {
        reset();
      } else {
        bool was_ok = driver_ok();
        // FEATURES_OK is refused unless the driver took VERSION_1.
        if ((v & 8) && !(driver_features_ & kFeatureVersion1)) v &= ~8ull;
        status_ = static_cast<uint8_t>(v) | (status_ & kStatusNeedsReset);
        if (!was_ok && driver_ok()) on_driver_ok();
      }
      break;
    case 0x16: queue_select_ = static_cast<uint16_t>(v); break;
    case 0x18:
      if (q && !q->enabled && v && v <= Virtqueue::kMaxSize && !(v & (v - 1)))
        q->size = static_cast<uint16_t>(v);
      break;
    case 0x1a: if (q) q->msix_vector = static_cast<uint16_t>(v); break;
    case 0x1c: if (q && v == 1) q->enabled = true; break;
    case 0x20: if (q) { if (len == 8) q->desc = v; else set_lo(q->desc); } break;
    case 0x24: if (q) set_hi(q->desc); break;
    case 0x28: if (q) { if (len == 8) q->avail = v; else set_lo(q->avail); } break;
    case 0x2c: if (q) set_hi(q->avail); break;
    case 0x30: if (q) { if (len == 8) q->used = v; else set_lo(q->used); } break;
    case 0x34: if (q) set_hi(q->used); break;
    default: break;
  }
}

}  // namespace berth::vmm
