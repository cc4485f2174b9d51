// Devices a VM snapshot or migration carries state for, built without
// /dev/kvm (tests/fuzz/snapshot_file, migration_stream): the serial port,
// the PCI bus, virtio rng, blk (on a scratch disk) and console (on a
// scratch socket). load() of hostile state must fail with berth::Error
// naming the field, and a device that loaded must then be safe to run:
// resume() serves its queues at whatever ring addresses the state gave.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "vmm/devices/pci.hpp"
#include "vmm/devices/serial.hpp"
#include "vmm/crc32c.hpp"
#include "vmm/devices/virtio_pci.hpp"
#include "vmm/event_loop.hpp"
#include "vmm/memory.hpp"

namespace berth::fuzz {

inline const std::string& vmm_scratch_dir() {
  static const ScratchDir scratch("vmm");
  static const std::string dir = [] {
    std::string d = scratch.path();
    int fd = ::open((d + "/disk").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::ftruncate(fd, 1 << 20) != 0) die("create disk", d);
    ::close(fd);
    return d;
  }();
  return dir;
}

// A state file (snapshot_file.hpp) with each section's CRC-32C set right,
// as far as its lengths can be followed: random bytes almost never carry a
// right checksum, so without this the fuzzer would stop at the CRC check
// and never reach the section parsers. Returns whether it changed a byte.
inline bool fix_snapshot_checksums(std::string& s) {
  auto u16 = [&](size_t at) { return static_cast<size_t>(static_cast<uint8_t>(s[at]) | static_cast<uint8_t>(s[at + 1]) << 8); };
  auto u32 = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, s.data() + at, 4);
    return static_cast<size_t>(v);
  };
  size_t at = 12;  // magic, format version
  if (s.size() < at + 2) return false;
  at += 2 + u16(at);  // the berth version
  if (s.size() < at + 4) return false;
  size_t count = u32(at);
  at += 4;
  bool changed = false;
  for (size_t i = 0; i < count && s.size() >= at + 2; ++i) {
    size_t name_len = u16(at);
    size_t name_at = at + 2;
    if (s.size() < name_at + name_len + 8) break;
    size_t len = u32(name_at + name_len);
    size_t crc_at = name_at + name_len + 4, payload_at = crc_at + 4;
    if (s.size() - payload_at < len) break;
    uint32_t crc = vmm::crc32c(vmm::crc32c(0, s.data() + name_at, name_len), s.data() + payload_at, len);
    if (static_cast<uint32_t>(u32(crc_at)) != crc) {
      std::memcpy(s.data() + crc_at, &crc, 4);
      changed = true;
    }
    at = payload_at + len;
  }
  return changed;
}

// Loads `state` into each kind of device in turn; returns how many took it.
inline int load_into_devices(const nlohmann::json& state, const vmm::GuestMemory& mem) {
  int took = 0;
  auto try_load = [&](vmm::Migratable& d, bool virtio) {
    bool ok = false;
    reject([&] {
      d.load(state);
      ok = true;
    });
    if (!ok) return;
    ++took;
    reject([&] {
      d.resume();
      nlohmann::json again;
      d.pause();
      d.save(again);
      if (virtio) {
        auto& v = static_cast<vmm::VirtioPciDevice&>(d);
        uint8_t b[8];
        for (uint64_t off : {0x0, 0x14, 0x16, 0x18, 0x1000, 0x2000})
          v.bar_read(off, b, 4);
      }
    });
  };
  {
    vmm::Serial serial([](const uint8_t*, size_t) {}, [](bool) {});
    try_load(serial, false);
  }
  {
    vmm::PciBus bus;
    try_load(bus, false);
  }
  vmm::EventLoop loop;
  const std::string& dir = vmm_scratch_dir();
  for (int kind = 0; kind < 3; ++kind) {
    std::unique_ptr<vmm::VirtioPciDevice> dev;
    reject([&] {
      dev = kind == 0   ? vmm::make_virtio_rng()
            : kind == 1 ? vmm::make_virtio_blk(dir + "/disk", false)
                        : vmm::make_virtio_console(dir + "/console.sock");
    });
    if (!dev) continue;
    dev->bind(mem, loop);
    try_load(*dev, true);
  }
  return took;
}

}  // namespace berth::fuzz
