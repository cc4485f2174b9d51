#include "vmm/devices/system_control.hpp"

#include <nlohmann/json.hpp>

namespace berth::vmm {

// Offsets are relative to 0x60: 0 = data port, 4 = status/command port.
void I8042::read(uint64_t, uint8_t* data, uint32_t len) {
  store_le(data, len, 0);  // empty output buffer, nothing to read
}

void I8042::write(uint64_t offset, const uint8_t* data, uint32_t len) {
  if (offset == 4 && len >= 1 && data[0] == 0xfe)
    exit_.request(ExitReason::Reset, "guest reset the CPU through the i8042 controller");
}

void ResetControl::write(uint64_t, const uint8_t* data, uint32_t len) {
  if (len >= 1 && (data[0] & 0x04) && (data[0] & 0x02))
    exit_.request(ExitReason::Reset, "guest reset the machine through port 0xcf9");
}

// PM1a event block at +0 (status, enable), control block at +4.
void AcpiPm::read(uint64_t offset, uint8_t* data, uint32_t len) {
  store_le(data, len, offset == 4 ? pm1_cnt_ : 0);
}

void AcpiPm::write(uint64_t offset, const uint8_t* data, uint32_t len) {
  if (offset != 4 || len < 2) return;
  uint16_t v = static_cast<uint16_t>(load_le(data, 2));
  pm1_cnt_ = v & ~(1u << 13);
  uint16_t slp_typ = (v >> 10) & 7;
  if ((v & (1u << 13)) && slp_typ == 5)
    exit_.request(ExitReason::Poweroff, "guest powered off (ACPI S5)");
}

void I8042::save(StateJson& out) { out = StateJson::object(); }
void ResetControl::save(StateJson& out) { out = StateJson::object(); }

void AcpiPm::save(StateJson& out) { out = {{"pm1_cnt", pm1_cnt_}}; }

void AcpiPm::load(const StateJson& in) {
  pm1_cnt_ = static_cast<uint16_t>(state_uint(in, "pm1_cnt", "ACPI PM1a block", 0xffff) & ~(1u << 13));
}

}  // namespace berth::vmm
