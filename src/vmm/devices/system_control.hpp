// The ways a PC guest ends itself:
//  - i8042 (ports 0x60/0x64): command 0xfe pulses the CPU reset line;
//  - port 0xcf9 (reset control register): bits 1|2 reset;
//  - ACPI PM1a control (layout::kPm1aCnt): SLP_EN with SLP_TYP 5 (\_S5) is
//    poweroff, which the FADT and DSDT describe to the guest.
#pragma once

#include "vmm/bus.hpp"
#include "vmm/exit_status.hpp"

namespace berth::vmm {

class I8042 : public BusDevice {
 public:
  explicit I8042(VmExit& exit) : exit_(exit) {}
  void read(uint64_t offset, uint8_t* data, uint32_t len) override;
  void write(uint64_t offset, const uint8_t* data, uint32_t len) override;
  // No state: reads are constant, a write acts at once.
  void save(StateJson& out) override;
  void load(const StateJson&) override {}

 private:
  VmExit& exit_;
};

class ResetControl : public BusDevice {
 public:
  explicit ResetControl(VmExit& exit) : exit_(exit) {}
  void read(uint64_t, uint8_t* data, uint32_t len) override { store_le(data, len, 0); }
  void write(uint64_t offset, const uint8_t* data, uint32_t len) override;
  void save(StateJson& out) override;
  void load(const StateJson&) override {}

 private:
  VmExit& exit_;
};

class AcpiPm : public BusDevice {
 public:
  explicit AcpiPm(VmExit& exit) : exit_(exit) {}
  void read(uint64_t offset, uint8_t* data, uint32_t len) override;
  void write(uint64_t offset, const uint8_t* data, uint32_t len) override;
  void save(StateJson& out) override;
  void load(const StateJson& in) override;

 private:
  VmExit& exit_;
  uint16_t pm1_cnt_ = 1;  // SCI_EN: already in ACPI mode
};

}  // namespace berth::vmm
