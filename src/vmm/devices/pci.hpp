// PCI bus 0 behind the legacy configuration mechanism #1 (ports 0xcf8/0xcfc),
// a host bridge at 00:00.0 and devices at 00:01.0 onwards. Each device has
// one 32-bit memory BAR (BAR0) that the VMM assigns, as firmware would.
// A device's saved state holds the config registers a guest can write
// (command, BAR0, interrupt line); identity and capabilities come from the
// code that builds it.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <mutex>
#include <vector>

#include "vmm/bus.hpp"

namespace berth::vmm {

class PciDevice : public Migratable {
 public:
  PciDevice(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision);

  void config_read(uint32_t offset, uint8_t* data, uint32_t len);
  void config_write(uint32_t offset, const uint8_t* data, uint32_t len);

  // BAR0 accesses (offset within the BAR).
  virtual void bar_read(uint64_t, uint8_t* data, uint32_t len) { std::memset(data, 0xff, len); }
  virtual void bar_write(uint64_t, const uint8_t*, uint32_t) {}
  // Closes what the device holds on the host (a locked disk, a tap) once the
  // vCPUs are stopped, so that the next VM can have it before this VM's
  // slower KVM teardown ends.
  virtual void release_backend() {}
  // Live migration on one host: at the switch-over the source lets go of
  // what the target must own exclusively (a disk's lock) and the target
  // takes it; a source whose target failed takes it back.
  virtual void yield_backend() {}
  virtual void claim_backend() {}

  void set_bar0(uint32_t addr, uint32_t size);
  uint32_t bar0() const;
  uint32_t bar0_size() const { return bar0_size_; }
  bool memory_enabled() const;
  void set_irq_line(uint8_t irq) { cfg_[0x3c] = irq; cfg_[0x3d] = 1; /* INTA# */ }
  // "1af4:1042": what a snapshot section of this device is named after.
  std::string ids() const;

  // The guest-writable config registers (the host bridge has no more).
  void save(StateJson& out) override;
  void load(const StateJson& in) override;

 protected:
  // Appends a capability to the list; returns its offset.
  uint8_t add_capability(const uint8_t* body, uint8_t len);
  uint8_t cfg_[256] = {};

 private:
  uint32_t bar0_size_ = 0;
  uint8_t next_cap_ = 0x40;
  uint8_t last_cap_ = 0;
};

class PciBus : public BusDevice {
 public:
  PciBus();
  // Device number = position + 1; returns it.
  int add(std::unique_ptr<PciDevice> dev);
  const std::vector<std::unique_ptr<PciDevice>>& devices() const { return devs_; }

  // Ports 0xcf8..0xcff.
  void read(uint64_t offset, uint8_t* data, uint32_t len) override;
  void write(uint64_t offset, const uint8_t* data, uint32_t len) override;
  // The CONFIG_ADDRESS register; each device saves its own state.
  void save(StateJson& out) override;
  void load(const StateJson& in) override;

  // MMIO in the PCI hole: routed to the device whose BAR0 holds addr.
  class Mmio : public BusDevice {
   public:
    explicit Mmio(PciBus& bus) : bus_(bus) {}
    void read(uint64_t offset, uint8_t* data, uint32_t len) override;
    void write(uint64_t offset, const uint8_t* data, uint32_t len) override;
    // A view of the bus: no state of its own.
    void save(StateJson& out) override;
    void load(const StateJson&) override {}
    uint64_t base = 0;

   private:
    PciBus& bus_;
  };
  Mmio& mmio() { return mmio_; }

 private:
  PciDevice* slot(uint32_t addr);
  PciDevice* bar_owner(uint64_t gpa, uint64_t* offset);
  std::mutex mu_;
  uint32_t address_ = 0;
  std::vector<std::unique_ptr<PciDevice>> devs_;  // devs_[0] = host bridge
  Mmio mmio_{*this};
};

}  // namespace berth::vmm
