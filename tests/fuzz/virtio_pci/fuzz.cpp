// A virtio-pci device (src/vmm/devices/virtio_pci.cpp, pci.cpp and the
// rng, blk, console and net devices) driven by a hostile guest: PCI config
// space and BAR0 reads and writes at any offset and width, guest RAM
// written under the device's feet, and queue setups and chains a real
// driver would not make. The input is a program of such operations; its
// first byte picks the device. The device's own checks must keep every
// access inside its registers and guest RAM (ASan watches the VMM's).
// virtio-net gets a tap of its own in a network namespace the target makes
// (root only; elsewhere its inputs are skipped): what the guest transmits
// goes nowhere, and what it receives is what the kernel sends on a link
// that comes up (IPv6 router solicitations and the like).
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_virtio_driver.hpp"
#include "fuzz_support.hpp"
#include "vmm/devices/virtio_pci.hpp"
#include "vmm/memory.hpp"

using namespace berth;
using namespace berth::vmm;

namespace {

constexpr uint64_t kRam = 2 * kMiB;
constexpr const char* kTap = "bfz0";

struct Input {
  const uint8_t* p;
  size_t n;
  uint64_t take(size_t bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes && n; ++i, ++p, --n) v |= uint64_t{*p} << (8 * i);
    return v;
  }
};

const std::string& scratch_dir() {
  static const fuzz::ScratchDir scratch("virtio");
  static const std::string dir = [] {
    std::string d = scratch.path();
    int fd = ::open((d + "/disk").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::ftruncate(fd, 1 << 20) != 0) fuzz::die("create disk", d);
    ::close(fd);
    return d;
  }();
  return dir;
}

// Once per process: never a tap in the host's namespace. The tap persists
// (in the namespace, which ends with the process), so each input's device
// attaches to it rather than making a network device (5x the inputs/s).
bool in_own_netns() {
  static const bool ok = [] {
    if (::unshare(CLONE_NEWNET) != 0) return false;
    int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, kTap, IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    bool made = ::ioctl(fd, TUNSETIFF, &ifr) == 0 && ::ioctl(fd, TUNSETPERSIST, 1) == 0;
    ::close(fd);
    return made;
  }();
  return ok;
}

std::unique_ptr<VirtioPciDevice> make_device(uint8_t which) {
  switch (which % 5) {
    case 0: return make_virtio_rng();
    case 1: return make_virtio_blk(scratch_dir() + "/disk", false);
    case 2: return make_virtio_blk(scratch_dir() + "/disk", true);
    case 3: return make_virtio_console(scratch_dir() + "/console.sock");
    default:
      if (!in_own_netns()) return nullptr;
      return make_virtio_net(kTap, "52:54:00:12:34:56");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuestMemory mem(kRam);
  std::memset(mem.ptr(0, kRam), 0, kRam);
  if (size < 1) return 0;
  Input in{data + 1, size - 1};
  EventLoop loop;
  std::unique_ptr<VirtioPciDevice> dev;
  fuzz::reject([&] { dev = make_device(data[0]); });
  if (!dev) return 0;
  dev->set_bar0(0xe0000000, 0x4000);
  dev->bind(mem, loop);
  FakeVirtioDriver drv(*dev, mem);
  int queues = 0;
  static constexpr uint32_t kLens[] = {1, 2, 4, 8, 3, 0, 16, 5};
  uint8_t buf[16];
  for (int ops = 0; in.n && ops < 256; ++ops) {
    uint8_t op = static_cast<uint8_t>(in.take(1));
    uint32_t len = kLens[(op >> 4) & 7];
    switch (op % 8) {
      case 0: {  // BAR0 write (offsets past the BAR too)
        uint64_t off = in.take(2);
        uint64_t v[2] = {in.take(8), in.take(8)};
        std::memcpy(buf, v, sizeof buf);
        fuzz::reject([&] { dev->bar_write(off, buf, len); });
        break;
      }
      case 1: {
        uint64_t off = in.take(2);
        fuzz::reject([&] { dev->bar_read(off, buf, len); });
        break;
      }
      case 2: {  // PCI config space
        uint32_t off = static_cast<uint32_t>(in.take(2) % 512);
        uint64_t v[2] = {in.take(8), in.take(8)};
        std::memcpy(buf, v, sizeof buf);
        fuzz::reject([&] { static_cast<PciDevice&>(*dev).config_write(off, buf, len); });
        break;
      }
      case 3: {
        uint32_t off = static_cast<uint32_t>(in.take(2) % 512);
        fuzz::reject([&] { static_cast<PciDevice&>(*dev).config_read(off, buf, len); });
        break;
      }
      case 4: {  // the guest scribbles on RAM (rings and descriptors included)
        uint64_t gpa = 0x10000 + in.take(2) % 0x3000;
        size_t n = std::min<size_t>(in.take(1) % 64, in.n);
        std::memcpy(mem.ptr(gpa, n), in.p, n);
        in.p += n;
        in.n -= n;
        break;
      }
      case 5:  // a driver's set-up, so chains reach the device quickly
        queues = static_cast<int>(in.take(1) % 3) + 1;
        fuzz::reject([&] { drv.start(queues); });
        break;
      case 6: {  // a chain of up to 4 buffers anywhere, then a notify
        if (!queues) break;
        int q = static_cast<int>(in.take(1) % static_cast<uint64_t>(queues));
        std::vector<FakeVirtioDriver::Buf> chain(in.take(1) % 4 + 1);
        for (auto& b : chain) {
          uint64_t a = in.take(4);
          b.gpa = a & 0x80000000 ? a << 12 : a % kRam;
          b.len = static_cast<uint32_t>(in.take(2));
          b.device_writes = a & 1;
        }
        // a request header the device can parse (virtio-blk: type, sector)
        uint64_t hdr[2] = {in.take(1) % 9, in.take(2)};
        if (chain[0].gpa + 16 <= kRam) std::memcpy(mem.ptr(chain[0].gpa, 16), hdr, 16);
        fuzz::reject([&] { drv.submit(q, chain); });
        break;
      }
      case 7:
        fuzz::reject([&] { loop.run_once(0); });
        break;
    }
  }
  fuzz::reject([&] {
    dev->pause();
    StateJson s;
    dev->save(s);
  });
  return 0;
}
