// 8250/16550A UART at 0x3f8, IRQ 4: enough of the chip for Linux's 8250
// driver and for polled output from tiny guests. Transmit completes
// instantly; received bytes wait in a FIFO until the guest reads them.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>

#include "vmm/bus.hpp"

namespace berth::vmm {

class Serial : public BusDevice {
 public:
  using Output = std::function<void(const uint8_t*, size_t)>;
  using IrqLine = std::function<void(bool)>;
  Serial(Output out, IrqLine irq) : out_(std::move(out)), irq_(std::move(irq)) {}

  void read(uint64_t offset, uint8_t* data, uint32_t len) override;
  void write(uint64_t offset, const uint8_t* data, uint32_t len) override;
  // Bytes typed on the console, for the guest to read.
  void receive(std::string_view bytes);

  // While paused, typed bytes wait in the FIFO without raising the line.
  void pause() override;
  void resume() override;
  void save(StateJson& out) override;
  void load(const StateJson& in) override;

 private:
  void update_irq();  // with mu_ held
  Output out_;
  IrqLine irq_;
  std::mutex mu_;
  std::deque<uint8_t> rx_;
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0x08, scr_ = 0, dll_ = 0x0c, dlm_ = 0, fcr_ = 0;
  bool thr_pending_ = false;
  bool irq_level_ = false;
  bool paused_ = false;
};

}  // namespace berth::vmm
