// virtio-blk (virtio 1.x, 5.2) over a raw image file: read, write, flush,
// discard, get-id; read-only disks advertise VIRTIO_BLK_F_RO and fail
// writes. The image is locked with flock (exclusive for read-write, shared
// for read-only), so two VMs can never write the same disk.
//
// A snapshot does not copy the disk (no reflinks on ext4, and a copy costs
// the whole disk): it records the disk's path, size, mtime and a CRC-32C
// of its data (the data extents, with their offsets, so the holes of a
// sparse image cost nothing), taken while the VM is paused. A restore
// opens and locks the same path and refuses a disk that differs in any of
// them, since the guest's page cache in the snapshot would not match it.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "vmm/crc32c.hpp"
#include "vmm/devices/virtio_pci.hpp"

namespace berth::vmm {

namespace {

constexpr uint64_t kFRo = 1ull << 5, kFBlkSize = 1ull << 6, kFFlush = 1ull << 9,
                   kFDiscard = 1ull << 13, kFSegMax = 1ull << 2;
constexpr uint32_t kIn = 0, kOut = 1, kFlush = 4, kGetId = 8, kDiscard = 11;
constexpr uint8_t kOk = 0, kIoErr = 1, kUnsupp = 2;

struct DiskIdentity {
  uint64_t size = 0, mtime_ns = 0;
  uint32_t crc = 0;
};

DiskIdentity identify(int fd, const std::string& path) {
  struct stat st{};
  check(::fstat(fd, &st), "stat disk " + path);
  DiskIdentity id;
  id.size = static_cast<uint64_t>(st.st_size);
  id.mtime_ns = static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ull + static_cast<uint64_t>(st.st_mtim.tv_nsec);
  std::vector<uint8_t> buf(1 << 20);
  off_t end = static_cast<off_t>(id.size);
  for (off_t at = 0; at < end;) {
    off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no data after `at`
      if (at != 0) throw_errno("find the data of disk " + path);
      data = 0;  // no SEEK_DATA here (a block device): all of it is data
    }
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0 || hole > end) hole = end;
    uint64_t ext[2] = {static_cast<uint64_t>(data), static_cast<uint64_t>(hole - data)};
    id.crc = crc32c(id.crc, ext, sizeof ext);
    for (off_t o = data; o < hole;) {
      size_t want = static_cast<size_t>(std::min<off_t>(hole - o, static_cast<off_t>(buf.size())));
      ssize_t n = ::pread(fd, buf.data(), want, o);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw_errno("read disk " + path + " to checksum it");
      id.crc = crc32c(id.crc, buf.data(), static_cast<size_t>(n));
      o += n;
    }
    at = hole;
  }
  return id;
}

class VirtioBlk : public VirtioPciDevice {
 public:
  VirtioBlk(const std::string& path, bool readonly, bool defer_lock)
      : VirtioPciDevice(2, 0x018000, 1,
                        kFSegMax | kFBlkSize | kFFlush | (readonly ? kFRo : kFDiscard),
                        "virtio-blk " + path),
        path_(path),
        readonly_(readonly) {
    int fd = ::open(path.c_str(), (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      throw Error("open disk " + path + ": " + std::strerror(e),
                  e == ENOENT ? ErrorKind::NotFound : ErrorKind::InvalidArgument, e);
    }
    fd_.reset(fd);
    struct stat st{};
    check(::fstat(fd, &st), "stat disk " + path);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
      fail("disk " + path + " is not a regular file or block device");
    if (!defer_lock) lock(0);
    off_t size = ::lseek(fd, 0, SEEK_END);
    check(size, "size disk " + path);
    sectors_ = static_cast<uint64_t>(size) / 512;
  }

 protected:
  void config_read(uint64_t off, uint8_t* data, uint32_t len) override {
    uint8_t c[64] = {};
    std::memcpy(c + 0, &sectors_, 8);       // capacity
    uint32_t seg_max = 126, blk_size = 512, max_discard = 0xffffffff, discard_seg = 1,
             discard_align = 1;
    std::memcpy(c + 12, &seg_max, 4);
    std::memcpy(c + 20, &blk_size, 4);
    std::memcpy(c + 36, &max_discard, 4);
    std::memcpy(c + 40, &discard_seg, 4);
    std::memcpy(c + 44, &discard_align, 4);
    if (off + len <= sizeof c) std::memcpy(data, c + off, len);
    else store_le(data, len, 0);
  }

  void process_queue(int q) override {
    uint16_t head;
    std::vector<Virtqueue::Buf> bufs;
    for (;;) {
      auto r = queues_[0].pop(*mem_, &head, &bufs);
      if (r == Virtqueue::Pop::Empty) return;
      if (r == Virtqueue::Pop::BadRing) return fail_device("queue 0 rings lie outside guest memory");
      uint32_t written = 0;
      uint8_t status = r == Virtqueue::Pop::Ok ? serve(bufs, &written) : kIoErr;
      // The status byte is the last byte of the last (device-writable) buffer.
      if (!bufs.empty() && bufs.back().device_writes && bufs.back().len >= 1) {
        const auto& s = bufs.back();
        mem_->write<uint8_t>(s.gpa + s.len - 1, status);
        ++written;
      }
      complete(q, head, written);
    }
  }

 public:
  void release_backend() override {
    std::lock_guard<std::mutex> l(mu_);
    fd_.reset();  // drops the flock
  }
  void yield_backend() override {
    std::lock_guard<std::mutex> l(mu_);
    ::flock(fd_.get(), LOCK_UN);
  }
  // The source unlocks just before it says so: a moment of patience.
  void claim_backend() override {
    std::lock_guard<std::mutex> l(mu_);
    lock(2000);
  }

 protected:
  void save_device(StateJson& out) override {
    DiskIdentity id = identify(fd_.get(), path_);
    out = {{"path", path_}, {"readonly", readonly_}, {"size", id.size}, {"mtime_ns", id.mtime_ns}, {"crc32c", id.crc}};
  }

  void load_device(const StateJson& in) override {
    DiskIdentity was{state_uint(in, "size", name_), state_uint(in, "mtime_ns", name_),
                     static_cast<uint32_t>(state_uint(in, "crc32c", name_, UINT32_MAX))};
    DiskIdentity now = identify(fd_.get(), path_);
    std::string what;
    if (now.size != was.size)
      what = "its size is " + std::to_string(now.size) + " bytes, was " + std::to_string(was.size);
    else if (now.mtime_ns != was.mtime_ns)
      what = "it was modified since (mtime)";
    else if (now.crc != was.crc)
      what = "its contents differ (CRC-32C)";
    if (!what.empty())
      fail("disk " + path_ + " changed since the snapshot was taken: " + what +
               "; the guest's view of it would be wrong",
           ErrorKind::FailedPrecondition);
  }

 private:
  uint8_t serve(const std::vector<Virtqueue::Buf>& bufs, uint32_t* written) {
    // The status byte needs a last buffer of at least one byte (found by
    // tests/fuzz/virtio_pci: a 0-byte one made its data length wrap).
    if (bufs.size() < 2 || bufs[0].device_writes || bufs[0].len < 16 || !bufs.back().device_writes ||
        bufs.back().len == 0)
      return kIoErr;
    uint32_t type = *mem_->read<uint32_t>(bufs[0].gpa);
    uint64_t sector = *mem_->read<uint64_t>(bufs[0].gpa + 8);
    // Data buffers: everything between the header and the status byte.
    std::vector<iovec> iov;
    uint64_t bytes = 0;
    for (size_t i = 1; i < bufs.size(); ++i) {
      uint32_t l = bufs[i].len - (i + 1 == bufs.size() ? 1 : 0);
      if (!l) continue;
      iov.push_back({mem_->ptr(bufs[i].gpa, l), l});
      bytes += l;
    }
    switch (type) {
      case kIn:
      case kOut: {
        if (bytes % 512 || sector > sectors_ || bytes / 512 > sectors_ - sector) return kIoErr;
        if (type == kOut && readonly_) return kIoErr;
        off_t at = static_cast<off_t>(sector * 512);
        ssize_t n = type == kIn ? ::preadv(fd_.get(), iov.data(), static_cast<int>(iov.size()), at)
                                : ::pwritev(fd_.get(), iov.data(), static_cast<int>(iov.size()), at);
        if (n != static_cast<ssize_t>(bytes)) return kIoErr;
        if (type == kIn) *written = static_cast<uint32_t>(bytes);
        return kOk;
      }
      case kFlush:
        return ::fdatasync(fd_.get()) == 0 ? kOk : kIoErr;
      case kGetId: {
        std::string id = "berth-" + std::to_string(sectors_);
        if (iov.empty()) return kIoErr;
        size_t n = std::min<size_t>(iov[0].iov_len, 20);
        std::memset(iov[0].iov_base, 0, n);
        std::memcpy(iov[0].iov_base, id.data(), std::min(n, id.size()));
        *written = static_cast<uint32_t>(n);
        return kOk;
      }
      case kDiscard: {
        if (readonly_) return kIoErr;
        // struct virtio_blk_discard_write_zeroes: sector, num_sectors, flags.
        for (size_t i = 1; i < bufs.size(); ++i) {
          if (bufs[i].device_writes) continue;
          for (uint32_t o = 0; o + 16 <= bufs[i].len; o += 16) {
            uint64_t s = *mem_->read<uint64_t>(bufs[i].gpa + o);
            uint32_t n = *mem_->read<uint32_t>(bufs[i].gpa + o + 8);
            if (s > sectors_ || n > sectors_ - s) return kIoErr;
            if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                            static_cast<off_t>(s * 512), static_cast<off_t>(n) * 512) < 0)
              return kIoErr;
          }
        }
        return kOk;
      }
      default:
        return kUnsupp;
    }
  }

  // Exclusive for read-write, shared for read-only; retried for up to
  // wait_ms while another VM holds it.
  void lock(int wait_ms) {
    for (int waited = 0;; waited += 5) {
      if (::flock(fd_.get(), (readonly_ ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0) return;
      if (errno != EWOULDBLOCK) throw_errno("lock disk " + path_);
      if (waited >= wait_ms) fail("disk " + path_ + " is in use by another VM (locked)", ErrorKind::FailedPrecondition);
      ::usleep(5000);
    }
  }

  std::string path_;
  bool readonly_;
  UniqueFd fd_;
  uint64_t sectors_ = 0;
};

}  // namespace

std::unique_ptr<VirtioPciDevice> make_virtio_blk(const std::string& path, bool readonly, bool defer_lock) {
  return std::make_unique<VirtioBlk>(path, readonly, defer_lock);
}

}  // namespace berth::vmm
