// A VM snapshot's state file (src/vmm/snapshot_file.cpp) and what reads
// its sections without /dev/kvm: the machine section
// (src/vmm/machine_section.cpp) and the device loaders (serial, PCI,
// virtio rng, blk, console). The KVM sections (vCPU registers, irqchip)
// are loaded into KVM, which is not here; they pass through
// SnapshotReader's checks like every section.
//
// BERTH_FUZZ_WRITE_SEED=FILE makes a seed from real devices' state instead.
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "vmm/machine_section.hpp"
#include "vmm/snapshot_file.hpp"
#include "vmm_devices.hpp"

using namespace berth;
using namespace berth::vmm;

namespace {

constexpr uint64_t kRam = 2 * kMiB;

void read_snapshot(const std::string& in, const GuestMemory& mem);

void write_seed(const char* path, const GuestMemory& mem) {
  SnapshotWriter w;
  VmConfig cfg;
  cfg.memory = kRam;
  w.add("machine", machine_section(cfg, mem, "seed"));
  EventLoop loop;
  auto rng = make_virtio_rng();
  rng->bind(mem, loop);
  nlohmann::json j;
  rng->save(j);
  w.add("pci/00:01.0/1af4:1044", j);
  auto blk = make_virtio_blk(fuzz::vmm_scratch_dir() + "/disk", false);
  blk->bind(mem, loop);
  blk->save(j);
  w.add("pci/00:02.0/1af4:1042", j);
  Serial serial([](const uint8_t*, size_t) {}, [](bool) {});
  serial.save(j);
  w.add("pio/0x3f8", j);
  PciBus bus;
  bus.save(j);
  w.add("pio/0xcf8", j);
  std::ofstream(path, std::ios::binary) << w.serialize();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuestMemory mem(kRam);
  if (const char* seed = std::getenv("BERTH_FUZZ_WRITE_SEED")) {
    write_seed(seed, mem);
    std::exit(0);
  }
  std::string raw(reinterpret_cast<const char*>(data), size), fixed = raw;
  // The input as it is (its checksums are checked), then with them right.
  bool changed = fuzz::fix_snapshot_checksums(fixed);
  for (const std::string* in : {&raw, &fixed}) {
    if (in == &fixed && !changed) break;
    read_snapshot(*in, mem);
  }
  return 0;
}

namespace {

void read_snapshot(const std::string& in, const GuestMemory& mem) {
  fuzz::reject([&] {
    SnapshotReader r(in, "fuzz snapshot");
    for (const auto& name : r.names()) {
      FUZZ_CHECK(r.has(name), name);
      nlohmann::json s;
      fuzz::reject([&] { s = r.section(name); });
      if (!s.is_object()) continue;
      if (name == "machine") {
        fuzz::reject([&] {
          MachineSection m = parse_machine_section(s, "fuzz snapshot");
          rebind(m, "restored", fuzz::vmm_scratch_dir());
          (void)record_config(m);
        });
      } else {
        fuzz::load_into_devices(s, mem);
      }
    }
  });
}

}  // namespace
