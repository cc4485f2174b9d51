// Devices a VM snapshot or migration carries state for, built without
// /dev/kvm (tests/fuzz/snapshot_file, migration_stream): the serial port,
// the PCI bus, virtio rng, blk (on a scratch disk) and console (on a
// scratch socket). load() of hostile state must fail with berth::Error
// naming the field, and a device that loaded must then be safe to run:
// resume() serves its queues at whatever ring addresses the state gave.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "vmm/devices/pci.hpp"
#include "vmm/devices/serial.hpp"
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
