#include "vmm/memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "common/error.hpp"

namespace berth::vmm {

namespace {

GuestMemory::Region make_region(uint64_t gpa, uint64_t size) {
  GuestMemory::Region r;
  r.gpa = gpa;
  r.size = size;
  r.memfd.reset(static_cast<int>(check(::memfd_create("berth-guest-ram", MFD_CLOEXEC),
                                       "create memfd for guest RAM")));
  check(::ftruncate(r.memfd.get(), static_cast<off_t>(size)),
        "size guest RAM memfd to " + std::to_string(size) + " bytes");
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   r.memfd.get(), 0);
  if (p == MAP_FAILED) throw_errno("map " + std::to_string(size >> 20) + " MiB of guest RAM");
  // Guest RAM must not be copied into a forked child (the VMM forks tap
  // helpers and mkfs in other paths) nor dumped with the VMM.
  ::madvise(p, size, MADV_DONTFORK);
  ::madvise(p, size, MADV_DONTDUMP);
  r.host = static_cast<uint8_t*>(p);
  return r;
}

}  // namespace

GuestMemory::GuestMemory(uint64_t size) : size_(size) {
  if (size < 2 * kMiB) fail("guest memory must be at least 2 MiB");
  uint64_t low = size < kMmioHoleStart ? size : kMmioHoleStart;
  regions_.push_back(make_region(0, low));
  if (size > low) regions_.push_back(make_region(kMmioHoleEnd, size - low));
}

GuestMemory::~GuestMemory() {
  for (auto& r : regions_)
    if (r.host) ::munmap(r.host, r.size);
}

uint8_t* GuestMemory::ptr(uint64_t gpa, uint64_t len) const {
  for (const auto& r : regions_) {
    if (gpa >= r.gpa && gpa - r.gpa <= r.size && len <= r.size - (gpa - r.gpa))
      return r.host + (gpa - r.gpa);
  }
  return nullptr;
}

void GuestMemory::copy_in(uint64_t gpa, const void* data, uint64_t len) const {
  uint8_t* p = ptr(gpa, len);
  if (!p)
    fail("guest memory too small: " + std::to_string(len) + " bytes at 0x" +
         [&] { char b[32]; snprintf(b, sizeof b, "%llx", (unsigned long long)gpa); return std::string(b); }() +
         " do not fit in " + std::to_string(size_ >> 20) + " MiB");
  std::memcpy(p, data, len);
}

}  // namespace berth::vmm
