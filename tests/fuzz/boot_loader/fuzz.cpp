// The kernel loaders (src/vmm/boot.cpp: bzImage; pvh.cpp: ELF with a PVH
// note): the kernel file, an initrd and a command line from the user, put
// into guest RAM of 2 or 16 MiB (a kernel that does not fit must be
// refused, not written past RAM's end). Input: kernel, then optionally
// "\0BERTH-INITRD\0" initrd, "\0BERTH-CMDLINE\0" command line. The files
// are memfds, opened by /proc/self/fd path as the loaders open any path.
#include <sys/mman.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "vmm/boot.hpp"
#include "vmm/memory.hpp"

using namespace berth;
using namespace berth::vmm;

namespace {

struct MemFile {
  int fd;
  explicit MemFile(std::string_view bytes) : fd(::memfd_create("berth-fuzz-boot", MFD_CLOEXEC)) {
    if (fd < 0) fuzz::die("memfd_create", "");
    for (size_t at = 0; at < bytes.size();) {
      ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
      if (n <= 0) fuzz::die("write memfd", "");
      at += static_cast<size_t>(n);
    }
  }
  ~MemFile() { ::close(fd); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuestMemory small(2 * kMiB), large(16 * kMiB);
  std::string_view all(reinterpret_cast<const char*>(data), size);
  auto kernel_rest = fuzz::split_input(all, std::string_view("\0BERTH-INITRD\0", 14), 2);
  auto initrd_cmd = fuzz::split_input(kernel_rest.size() > 1 ? kernel_rest[1] : "",
                                      std::string_view("\0BERTH-CMDLINE\0", 15), 2);
  MemFile kernel(kernel_rest[0]);
  std::optional<MemFile> initrd;
  if (kernel_rest.size() > 1) initrd.emplace(initrd_cmd[0]);
  BootImage img;
  img.kernel = kernel.path();
  if (initrd) img.initrd = initrd->path();
  img.cmdline = initrd_cmd.size() > 1 ? std::string(initrd_cmd[1]) : "console=ttyS0";
  for (const GuestMemory* mem : {&small, &large}) {
    fuzz::reject([&] {
      BootEntry e = load_linux(*mem, img, 0xe0000);
      FUZZ_CHECK(e.rip < mem->size() || e.pvh, "entry point outside guest RAM");
    });
    fuzz::reject([&] { load_pvh(*mem, img, 0xe0000); });
  }
  return 0;
}
