#include "vmm/memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::vmm {

namespace {

constexpr uint64_t kPage = 4096;

void* map_region(uint64_t size, int prot_flags, int fd, uint64_t offset, const std::string& what) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, prot_flags | MAP_NORESERVE, fd,
                   static_cast<off_t>(offset));
  if (p == MAP_FAILED) throw_errno("map " + std::to_string(size >> 20) + " MiB of guest RAM" + what);
  // Guest RAM must not be copied into a forked child (the VMM forks tap
  // helpers and mkfs in other paths) nor dumped with the VMM.
  ::madvise(p, size, MADV_DONTFORK);
  ::madvise(p, size, MADV_DONTDUMP);
  return p;
}

GuestMemory::Region make_region(uint64_t gpa, uint64_t size) {
  GuestMemory::Region r;
  r.gpa = gpa;
  r.size = size;
  r.memfd.reset(static_cast<int>(check(::memfd_create("berth-guest-ram", MFD_CLOEXEC),
                                       "create memfd for guest RAM")));
  check(::ftruncate(r.memfd.get(), static_cast<off_t>(size)),
        "size guest RAM memfd to " + std::to_string(size) + " bytes");
  r.host = static_cast<uint8_t*>(map_region(size, MAP_SHARED, r.memfd.get(), 0, ""));
  return r;
}

// [gpa, size) of each region: RAM below the PCI hole, the rest above 4 GiB.
std::vector<std::pair<uint64_t, uint64_t>> layout_of(uint64_t size) {
  if (size < 2 * kMiB) fail("guest memory must be at least 2 MiB");
  uint64_t low = size < kMmioHoleStart ? size : kMmioHoleStart;
  std::vector<std::pair<uint64_t, uint64_t>> out = {{0, low}};
  if (size > low) out.emplace_back(kMmioHoleEnd, size - low);
  return out;
}

bool zero_page(const uint8_t* p) {
  const auto* w = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i < kPage / 8; ++i)
    if (w[i]) return false;
  return true;
}

// Pages of a region that may hold data: allocated in the memfd, or for a
// restored VM, data in the snapshot file it was mapped from or pages the
// guest wrote since (anonymous copies, found in /proc/self/pagemap).
std::vector<bool> pages_with_data(const GuestMemory::Region& r, bool file_backed) {
  uint64_t pages = r.size / kPage;
  std::vector<bool> out(pages, false);
  auto mark = [&](uint64_t from, uint64_t to) {
    for (uint64_t p = from / kPage; p < (to + kPage - 1) / kPage && p < pages; ++p) out[p] = true;
  };
  int fd = r.memfd.get();
  off_t base = static_cast<off_t>(r.offset), end = static_cast<off_t>(r.offset + r.size);
  for (off_t at = base; at < end;) {
    off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0 || data >= end) break;
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0 || hole > end) hole = end;
    mark(static_cast<uint64_t>(data - base), static_cast<uint64_t>(hole - base));
    at = hole;
  }
  if (file_backed) {
    int pm = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pm < 0) {  // cannot tell written pages apart: take them all
      mark(0, r.size);
      return out;
    }
    UniqueFd pmf(pm);
    std::vector<uint64_t> e(4096);
    uint64_t first = reinterpret_cast<uint64_t>(r.host) / kPage;
    for (uint64_t p = 0; p < pages; p += e.size()) {
      uint64_t n = std::min<uint64_t>(e.size(), pages - p);
      ssize_t got = ::pread(pm, e.data(), n * 8, static_cast<off_t>((first + p) * 8));
      if (got != static_cast<ssize_t>(n * 8)) {
        mark(p * kPage, r.size);
        break;
      }
      for (uint64_t i = 0; i < n; ++i) {
        bool present = e[i] >> 63 & 1, swapped = e[i] >> 62 & 1, file = e[i] >> 61 & 1;
        if ((present && !file) || swapped) out[p + i] = true;
      }
    }
  }
  return out;
}

}  // namespace

uint64_t host_ram() {
  std::string s;
  try {
    s = fs::read_file("/proc/meminfo");
  } catch (const Error&) {
    return 0;
  }
  auto p = s.find("MemTotal:");
  if (p == std::string::npos) return 0;
  return std::strtoull(s.c_str() + p + 9, nullptr, 10) * 1024;
}

GuestMemory::GuestMemory(uint64_t size) : size_(size) {
  for (auto [gpa, len] : layout_of(size)) regions_.push_back(make_region(gpa, len));
}

GuestMemory::GuestMemory(uint64_t size, const std::string& path) : file_backed_(true), size_(size) {
  auto layout = layout_of(size);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("open snapshot memory " + path);
  UniqueFd file(fd);
  struct stat st{};
  check(::fstat(fd, &st), "stat snapshot memory " + path);
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != size)
    fail("snapshot memory " + path + " is " + std::to_string(st.st_size) + " bytes, not the " +
             std::to_string(size) + " of the VM's RAM",
         ErrorKind::Corrupt);
  uint64_t offset = 0;
  for (auto [gpa, len] : layout) {
    Region r;
    r.gpa = gpa;
    r.size = len;
    r.offset = offset;
    r.memfd.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!r.memfd) throw_errno("dup snapshot memory fd");
    r.host = static_cast<uint8_t*>(map_region(len, MAP_PRIVATE, fd, offset, " from " + path));
    regions_.push_back(std::move(r));
    offset += len;
  }
}

GuestMemory::~GuestMemory() {
  for (auto& r : regions_)
    if (r.host) ::munmap(r.host, r.size);
}

uint8_t* GuestMemory::find(uint64_t gpa, uint64_t len) const {
  for (const auto& r : regions_) {
    if (gpa >= r.gpa && gpa - r.gpa <= r.size && len <= r.size - (gpa - r.gpa))
      return r.host + (gpa - r.gpa);
  }
  return nullptr;
}

uint8_t* GuestMemory::ptr(uint64_t gpa, uint64_t len) const {
  uint8_t* p = find(gpa, len);
  if (p && tracking_on_.load(std::memory_order_acquire)) {
    for (size_t i = 0; i < regions_.size(); ++i) {
      const Region& r = regions_[i];
      if (gpa < r.gpa || gpa - r.gpa >= r.size) continue;
      uint64_t first = (gpa - r.gpa) / kPage, last = (gpa - r.gpa + (len ? len - 1 : 0)) / kPage;
      for (uint64_t pg = first; pg <= last; ++pg)
        tracking_->bits[i][pg / 64].fetch_or(1ull << (pg % 64), std::memory_order_relaxed);
    }
  }
  return p;
}

void GuestMemory::track_device_writes(bool on) const {
  if (on && !tracking_) {
    tracking_ = std::make_unique<Tracking>();
    for (const auto& r : regions_) {
      size_t words = (r.size / kPage + 63) / 64;
      tracking_->bits.push_back(std::make_unique<std::atomic<uint64_t>[]>(words));
    }
  }
  tracking_on_ = on;
}

std::vector<uint64_t> GuestMemory::take_device_writes(size_t r) const {
  std::vector<uint64_t> out((regions_[r].size / kPage + 63) / 64);
  if (!tracking_) return out;
  for (size_t w = 0; w < out.size(); ++w) out[w] = tracking_->bits[r][w].exchange(0, std::memory_order_relaxed);
  return out;
}

std::optional<uint64_t> GuestMemory::gpa_of(const void* p) const {
  auto* b = static_cast<const uint8_t*>(p);
  for (const auto& r : regions_)
    if (b >= r.host && b < r.host + r.size) return r.gpa + static_cast<uint64_t>(b - r.host);
  return std::nullopt;
}

void GuestMemory::copy_in(uint64_t gpa, const void* data, uint64_t len) const {
  uint8_t* p = ptr(gpa, len);
  if (!p)
    fail("guest memory too small: " + std::to_string(len) + " bytes at 0x" +
         [&] { char b[32]; snprintf(b, sizeof b, "%llx", (unsigned long long)gpa); return std::string(b); }() +
         " do not fit in " + std::to_string(size_ >> 20) + " MiB");
  std::memcpy(p, data, len);
}

void GuestMemory::for_each_data_run(size_t ri, const std::function<void(uint64_t, uint64_t)>& fn) const {
  const Region& r = regions_[ri];
  std::vector<bool> maybe = pages_with_data(r, file_backed_);
  for (uint64_t p = 0; p < maybe.size();) {
    if (!maybe[p] || zero_page(r.host + p * kPage)) {
      ++p;
      continue;
    }
    uint64_t q = p + 1;
    while (q < maybe.size() && maybe[q] && !zero_page(r.host + q * kPage)) ++q;
    fn(p * kPage, (q - p) * kPage);
    p = q;
  }
}

uint64_t GuestMemory::save_to(int fd, const std::string& what) const {
  check(::ftruncate(fd, static_cast<off_t>(size_)), "size " + what);
  uint64_t written = 0, file_at = 0;
  for (size_t ri = 0; ri < regions_.size(); ++ri) {
    const Region& r = regions_[ri];
    // Runs of pages with data are written with one pwrite each.
    for_each_data_run(ri, [&](uint64_t at, uint64_t run) {
      const uint8_t* src = r.host + at;
      uint64_t len = run, off = file_at + at;
      while (len) {
        ssize_t n = ::pwrite(fd, src, len, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw_errno("write guest RAM to " + what);
        src += n;
        off += static_cast<uint64_t>(n);
        len -= static_cast<uint64_t>(n);
        written += static_cast<uint64_t>(n);
      }
    });
    file_at += r.size;
  }
  return written;
}

}  // namespace berth::vmm
