// virtio-blk (virtio 1.x, 5.2) over a raw image file: read, write, flush,
// discard, get-id; read-only disks advertise VIRTIO_BLK_F_RO and fail
// writes. The image is locked with flock (exclusive for read-write, shared
// for read-only), so two VMs can never write the same disk.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <cstring>

#include "common/error.hpp"
#include "vmm/devices/virtio_pci.hpp"

namespace berth::vmm {

namespace {

constexpr uint64_t kFRo = 1ull << 5, kFBlkSize = 1ull << 6, kFFlush = 1ull << 9,
                   kFDiscard = 1ull << 13, kFSegMax = 1ull << 2;
constexpr uint32_t kIn = 0, kOut = 1, kFlush = 4, kGetId = 8, kDiscard = 11;
constexpr uint8_t kOk = 0, kIoErr = 1, kUnsupp = 2;

class VirtioBlk : public VirtioPciDevice {
 public:
  VirtioBlk(const std::string& path, bool readonly)
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
    if (::flock(fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
      if (errno == EWOULDBLOCK)
        fail("disk " + path + " is in use by another VM (locked)", ErrorKind::FailedPrecondition);
      throw_errno("lock disk " + path);
    }
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

 private:
  uint8_t serve(const std::vector<Virtqueue::Buf>& bufs, uint32_t* written) {
    if (bufs.size() < 2 || bufs[0].device_writes || bufs[0].len < 16 || !bufs.back().device_writes)
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

  std::string path_;
  bool readonly_;
  UniqueFd fd_;
  uint64_t sectors_ = 0;
};

}  // namespace

std::unique_ptr<VirtioPciDevice> make_virtio_blk(const std::string& path, bool readonly) {
  return std::make_unique<VirtioBlk>(path, readonly);
}

}  // namespace berth::vmm
