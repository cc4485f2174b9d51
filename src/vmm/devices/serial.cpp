#include "vmm/devices/serial.hpp"

#include <nlohmann/json.hpp>

namespace berth::vmm {

namespace {
constexpr uint8_t kIerRdi = 0x01, kIerThri = 0x02;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kMcrLoop = 0x10;
constexpr size_t kRxMax = 4096;
}  // namespace

void Serial::update_irq() {
  if (paused_) return;
  bool level = ((ier_ & kIerRdi) && !rx_.empty()) || ((ier_ & kIerThri) && thr_pending_);
  if (level != irq_level_) {
    irq_level_ = level;
    if (irq_) irq_(level);
  }
}

void Serial::read(uint64_t offset, uint8_t* data, uint32_t len) {
  std::lock_guard<std::mutex> l(mu_);
  uint8_t v = 0;
  switch (offset) {
    case 0:
      if (lcr_ & kLcrDlab) {
        v = dll_;
      } else if (!rx_.empty()) {
        v = rx_.front();
        rx_.pop_front();
      }
      break;
    case 1: v = (lcr_ & kLcrDlab) ? dlm_ : ier_; break;
    case 2:
      if ((ier_ & kIerRdi) && !rx_.empty()) {
        v = 0x04;
      } else if ((ier_ & kIerThri) && thr_pending_) {
        v = 0x02;
        thr_pending_ = false;  // reading IIR acknowledges THRE
      } else {
        v = 0x01;
      }
      if (fcr_ & 1) v |= 0xc0;
      break;
    case 3: v = lcr_; break;
    case 4: v = mcr_; break;
    case 5: v = 0x60 | (rx_.empty() ? 0 : 1); break;  // THRE|TEMT|DR
    case 6:
      if (mcr_ & kMcrLoop) {
        v = static_cast<uint8_t>(((mcr_ & 0x02) << 3) | ((mcr_ & 0x01) << 5) |
                                 ((mcr_ & 0x04) << 4) | ((mcr_ & 0x08) << 4));
      } else {
        v = 0xb0;  // DCD|DSR|CTS
      }
      break;
    case 7: v = scr_; break;
  }
  update_irq();
  store_le(data, len, v);
}

void Serial::write(uint64_t offset, const uint8_t* data, uint32_t len) {
  if (len == 0) return;
  uint8_t v = data[0];
  std::lock_guard<std::mutex> l(mu_);
  switch (offset) {
    case 0:
      if (lcr_ & kLcrDlab) {
        dll_ = v;
      } else if (mcr_ & kMcrLoop) {
        if (rx_.size() < kRxMax) rx_.push_back(v);
      } else {
        if (out_) out_(&v, 1);
        thr_pending_ = true;
      }
      break;
    case 1:
      if (lcr_ & kLcrDlab) {
        dlm_ = v;
      } else {
        if ((v & kIerThri) && !(ier_ & kIerThri)) thr_pending_ = true;
        ier_ = v & 0x0f;
      }
      break;
    case 2:
      fcr_ = v;
      if (v & 0x02) rx_.clear();
      break;
    case 3: lcr_ = v; break;
    case 4: mcr_ = v & 0x1f; break;
    case 7: scr_ = v; break;
  }
  update_irq();
}

void Serial::receive(std::string_view bytes) {
  std::lock_guard<std::mutex> l(mu_);
  for (char c : bytes)
    if (rx_.size() < kRxMax) rx_.push_back(static_cast<uint8_t>(c));
  update_irq();
}

void Serial::pause() {
  std::lock_guard<std::mutex> l(mu_);
  paused_ = true;
}

void Serial::resume() {
  std::lock_guard<std::mutex> l(mu_);
  paused_ = false;
  update_irq();
}

void Serial::save(StateJson& out) {
  std::lock_guard<std::mutex> l(mu_);
  std::string rx(rx_.begin(), rx_.end());
  out = {{"ier", ier_}, {"lcr", lcr_}, {"mcr", mcr_}, {"scr", scr_}, {"dll", dll_}, {"dlm", dlm_},
         {"fcr", fcr_}, {"thr_pending", thr_pending_}, {"irq_level", irq_level_},
         {"rx", state_blob(rx.data(), rx.size())}};
}

void Serial::load(const StateJson& in) {
  const std::string who = "serial port 0x3f8";
  std::lock_guard<std::mutex> l(mu_);
  auto byte = [&](const char* k) { return static_cast<uint8_t>(state_uint(in, k, who, 0xff)); };
  ier_ = byte("ier") & 0x0f;
  lcr_ = byte("lcr");
  mcr_ = byte("mcr") & 0x1f;
  scr_ = byte("scr");
  dll_ = byte("dll");
  dlm_ = byte("dlm");
  fcr_ = byte("fcr");
  thr_pending_ = state_bool(in, "thr_pending", who);
  std::vector<uint8_t> rx = state_bytes(in, "rx", who, kRxMax);
  rx_.assign(rx.begin(), rx.end());
  // KVM's irqchip was loaded with the line's level, but not with who drove
  // it: drive it again so that the next change is seen as one.
  irq_level_ = false;
  if (state_bool(in, "irq_level", who)) {
    irq_level_ = true;
    if (irq_) irq_(true);
  }
}

}  // namespace berth::vmm
