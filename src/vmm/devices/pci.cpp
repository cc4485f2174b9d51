#include "vmm/devices/pci.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace berth::vmm {

PciDevice::PciDevice(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision) {
  std::memcpy(cfg_ + 0x00, &vendor, 2);
  std::memcpy(cfg_ + 0x02, &device, 2);
  cfg_[0x08] = revision;
  cfg_[0x09] = static_cast<uint8_t>(class_code);
  cfg_[0x0a] = static_cast<uint8_t>(class_code >> 8);
  cfg_[0x0b] = static_cast<uint8_t>(class_code >> 16);
}

void PciDevice::set_bar0(uint32_t addr, uint32_t size) {
  bar0_size_ = size;
  std::memcpy(cfg_ + 0x10, &addr, 4);  // 32-bit, non-prefetchable memory
}

uint32_t PciDevice::bar0() const {
  uint32_t v;
  std::memcpy(&v, cfg_ + 0x10, 4);
  return v & ~0xfu;
}

bool PciDevice::memory_enabled() const { return cfg_[0x04] & 0x02; }

std::string PciDevice::ids() const {
  uint16_t vendor, device;
  std::memcpy(&vendor, cfg_ + 0x00, 2);
  std::memcpy(&device, cfg_ + 0x02, 2);
  char b[16];
  snprintf(b, sizeof b, "%04x:%04x", vendor, device);
  return b;
}

void PciDevice::save(StateJson& out) {
  uint16_t command;
  std::memcpy(&command, cfg_ + 0x04, 2);
  uint32_t bar;
  std::memcpy(&bar, cfg_ + 0x10, 4);
  out = {{"command", command}, {"bar0", bar}, {"irq_line", cfg_[0x3c]}};
}

// Through config_write(), so a snapshot can set nothing a guest could not.
void PciDevice::load(const StateJson& in) {
  std::string who = "PCI device " + ids();
  auto command = static_cast<uint16_t>(state_uint(in, "command", who, 0xffff));
  auto bar = static_cast<uint32_t>(state_uint(in, "bar0", who, 0xffffffff));
  auto irq = static_cast<uint8_t>(state_uint(in, "irq_line", who, 0xff));
  config_write(0x04, reinterpret_cast<const uint8_t*>(&command), 2);
  config_write(0x10, reinterpret_cast<const uint8_t*>(&bar), 4);
  config_write(0x3c, &irq, 1);
}

uint8_t PciDevice::add_capability(const uint8_t* body, uint8_t len) {
  uint8_t at = next_cap_;
  std::memcpy(cfg_ + at, body, len);
  cfg_[at + 1] = 0;
  if (last_cap_) cfg_[last_cap_ + 1] = at; else cfg_[0x34] = at;
  cfg_[0x06] |= 0x10;  // status: capabilities list
  last_cap_ = at;
  next_cap_ = static_cast<uint8_t>((at + len + 3) & ~3);
  return at;
}

void PciDevice::config_read(uint32_t offset, uint8_t* data, uint32_t len) {
  if (offset + len > sizeof cfg_) {
    std::memset(data, 0xff, len);
    return;
  }
  std::memcpy(data, cfg_ + offset, len);
}

void PciDevice::config_write(uint32_t offset, const uint8_t* data, uint32_t len) {
  if (offset + len > sizeof cfg_) return;
  for (uint32_t i = 0; i < len; ++i) {
    uint32_t o = offset + i;
    uint8_t v = data[i];
    if (o == 0x04) {
      cfg_[o] = v & 0x07;  // io, memory, bus master
    } else if (o == 0x05) {
      cfg_[o] = v & 0x04;  // interrupt disable
    } else if (o >= 0x10 && o < 0x14 && bar0_size_) {
      cfg_[o] = v;
      if (o == 0x13) {  // whole dword written: apply the size mask
        uint32_t bar;
        std::memcpy(&bar, cfg_ + 0x10, 4);
        bar &= ~(bar0_size_ - 1);
        bar &= ~0xfu;
        std::memcpy(cfg_ + 0x10, &bar, 4);
      }
    } else if (o == 0x3c) {
      cfg_[o] = v;
    }
    // Everything else is read-only.
  }
}

PciBus::PciBus() {
  // 00:00.0 host bridge (Intel 440FX ids, as most guests know them).
  devs_.push_back(std::make_unique<PciDevice>(0x8086, 0x1237, 0x060000, 2));
}

int PciBus::add(std::unique_ptr<PciDevice> dev) {
  std::lock_guard<std::mutex> l(mu_);
  devs_.push_back(std::move(dev));
  return static_cast<int>(devs_.size() - 1);
}

PciDevice* PciBus::slot(uint32_t addr) {
  if (!(addr & 0x80000000u)) return nullptr;
  uint32_t bus = (addr >> 16) & 0xff, dev = (addr >> 11) & 0x1f, fn = (addr >> 8) & 7;
  if (bus != 0 || fn != 0 || dev >= devs_.size()) return nullptr;
  return devs_[dev].get();
}

void PciBus::read(uint64_t offset, uint8_t* data, uint32_t len) {
  std::lock_guard<std::mutex> l(mu_);
  if (offset < 4) {
    if (offset == 0 && len == 4) store_le(data, len, address_);
    else std::memset(data, 0xff, len);
    return;
  }
  PciDevice* d = slot(address_);
  uint32_t reg = (address_ & 0xfc) + static_cast<uint32_t>(offset - 4);
  if (!d) {
    std::memset(data, 0xff, len);
    return;
  }
  d->config_read(reg, data, len);
}

void PciBus::write(uint64_t offset, const uint8_t* data, uint32_t len) {
  std::lock_guard<std::mutex> l(mu_);
  if (offset < 4) {
    if (offset == 0 && len == 4) address_ = static_cast<uint32_t>(load_le(data, 4));
    return;
  }
  if (PciDevice* d = slot(address_))
    d->config_write((address_ & 0xfc) + static_cast<uint32_t>(offset - 4), data, len);
}

void PciBus::save(StateJson& out) {
  std::lock_guard<std::mutex> l(mu_);
  out = {{"address", address_}};
}

void PciBus::load(const StateJson& in) {
  std::lock_guard<std::mutex> l(mu_);
  address_ = static_cast<uint32_t>(state_uint(in, "address", "PCI config port 0xcf8", 0xffffffff));
}

void PciBus::Mmio::save(StateJson& out) { out = StateJson::object(); }

PciDevice* PciBus::bar_owner(uint64_t gpa, uint64_t* offset) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& d : devs_) {
    uint64_t b = d->bar0(), s = d->bar0_size();
    if (s && d->memory_enabled() && gpa >= b && gpa - b < s) {
      *offset = gpa - b;
      return d.get();
    }
  }
  return nullptr;
}

void PciBus::Mmio::read(uint64_t offset, uint8_t* data, uint32_t len) {
  uint64_t off;
  if (PciDevice* d = bus_.bar_owner(base + offset, &off)) d->bar_read(off, data, len);
  else std::memset(data, 0xff, len);
}

void PciBus::Mmio::write(uint64_t offset, const uint8_t* data, uint32_t len) {
  uint64_t off;
  if (PciDevice* d = bus_.bar_owner(base + offset, &off)) d->bar_write(off, data, len);
}

}  // namespace berth::vmm
