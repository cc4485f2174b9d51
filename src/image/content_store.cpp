#include "image/content_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::image {

static constexpr size_t kBufSize = 1 << 20;

ContentStore::ContentStore(std::string root)
    : dir_(root + "/content/sha256"), ingest_(root + "/content/ingest") {
  fs::mkdir_p(dir_, 0700);
  fs::mkdir_p(ingest_, 0700);
}

std::string ContentStore::path(std::string_view digest) const {
  return dir_ + "/" + digest_hex(digest);
}

bool ContentStore::has(std::string_view digest) const { return fs::exists(path(digest)); }

int64_t ContentStore::size(std::string_view digest) const {
  struct stat st;
  if (::stat(path(digest).c_str(), &st) != 0) throw_errno("blob " + std::string(digest));
  return st.st_size;
}

BlobWriter ContentStore::writer(std::string what) const { return BlobWriter(*this, std::move(what)); }

std::string ContentStore::put(std::string_view bytes, std::string_view expected) const {
  auto w = writer(expected.empty() ? "blob" : "blob " + std::string(expected));
  w.write(bytes);
  auto d = w.finish(expected);
  w.commit();
  return d;
}

UniqueFd ContentStore::open(std::string_view digest) const {
  std::string p = path(digest);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      throw Error("blob " + std::string(digest) + " is not in the content store", ErrorKind::NotFound);
    throw_errno("open blob " + p);
  }
  return UniqueFd(fd);
}

std::string ContentStore::read(std::string_view digest) const {
  UniqueFd fd = open(digest);
  std::string out = fs::read_all(fd.get(), "blob " + std::string(digest));
  std::string got = sha256_digest(out);
  if (got != digest)
    throw Error("blob " + std::string(digest) + " is corrupt (content hashes to " + got + ")",
                ErrorKind::Corrupt);
  return out;
}

void ContentStore::verify(std::string_view digest) const {
  UniqueFd fd = open(digest);
  Sha256 h;
  std::string buf(kBufSize, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read blob " + std::string(digest));
    }
    if (n == 0) break;
    h.update(buf.data(), n);
  }
  std::string got = h.digest();
  if (got != digest)
    throw Error("blob " + std::string(digest) + " is corrupt (content hashes to " + got + ")",
                ErrorKind::Corrupt);
}

void ContentStore::remove(std::string_view digest) const {
  if (::unlink(path(digest).c_str()) != 0 && errno != ENOENT) throw_errno("remove blob " + std::string(digest));
}

int64_t ContentStore::remove_stale_ingest() const {
  int64_t freed = 0;
  DIR* d = ::opendir(ingest_.c_str());
  if (!d) throw_errno("list " + ingest_);
  while (auto* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string p = ingest_ + "/" + e->d_name;
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) continue;  // committed or dropped since readdir
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // its writer is alive
    // Unlink only the file we hold: its writer may have committed it (renamed
    // it away) between our open and our lock.
    struct stat held, now;
    if (::fstat(fd.get(), &held) != 0 || !S_ISREG(held.st_mode) || held.st_nlink == 0) continue;
    if (::lstat(p.c_str(), &now) != 0 || now.st_ino != held.st_ino || now.st_dev != held.st_dev) continue;
    if (::unlink(p.c_str()) == 0) freed += held.st_size;
  }
  ::closedir(d);
  return freed;
}

std::vector<std::string> ContentStore::list() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir_.c_str());
  if (!d) throw_errno("list " + dir_);
  while (auto* e = ::readdir(d))
    if (is_sha256_hex(e->d_name)) out.push_back(std::string("sha256:") + e->d_name);
  ::closedir(d);
  return out;
}

BlobWriter::BlobWriter(const ContentStore& store, std::string what) : store_(&store), what_(std::move(what)) {
  // The lock on the file says a live writer owns it (the kernel drops it
  // when the writer dies); remove_stale_ingest() unlinks only files whose
  // lock it can take. If a sweep took it before we did, the file has no
  // link left once we hold the lock: make another.
  for (;;) {
    tmp_ = store.ingest_ + "/blob-XXXXXX";
    int fd = ::mkostemp(tmp_.data(), O_CLOEXEC);
    if (fd < 0) throw_errno("create temporary blob in " + store.ingest_);
    fd_.reset(fd);
    struct stat st;
    int rc;
    while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0 || ::fstat(fd, &st) != 0) {
      int err = errno;
      ::unlink(tmp_.c_str());
      throw_errno("lock temporary blob " + tmp_, err);
    }
    if (st.st_nlink > 0) break;
  }
  buf_.reserve(kBufSize);
}

BlobWriter::BlobWriter(BlobWriter&& o) noexcept
    : store_(o.store_), what_(std::move(o.what_)), tmp_(std::move(o.tmp_)), fd_(std::move(o.fd_)),
      hash_(std::move(o.hash_)), digest_(std::move(o.digest_)), size_(o.size_),
      committed_(o.committed_), buf_(std::move(o.buf_)) {
  o.tmp_.clear();
}

BlobWriter::~BlobWriter() {
  if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

static void write_all(int fd, const char* p, size_t n, const std::string& what) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_errno("write " + what);
    }
    p += w;
    n -= w;
  }
}

void BlobWriter::write(const void* data, size_t len) {
  hash_.update(data, len);
  size_ += len;
  // Small writes are batched: archives hand us 10 KiB blocks.
  if (buf_.size() + len > kBufSize) {
    write_all(fd_.get(), buf_.data(), buf_.size(), what_);
    buf_.clear();
  }
  if (len >= kBufSize)
    write_all(fd_.get(), static_cast<const char*>(data), len, what_);
  else
    buf_.append(static_cast<const char*>(data), len);
}

std::string BlobWriter::finish(std::string_view expected) {
  write_all(fd_.get(), buf_.data(), buf_.size(), what_);
  buf_.clear();
  buf_.shrink_to_fit();
  digest_ = hash_.digest();
  if (!expected.empty() && digest_ != expected)
    throw Error(what_ + ": digest mismatch: expected " + std::string(expected) + ", content hashes to " + digest_,
                ErrorKind::Corrupt);
  return digest_;
}

void BlobWriter::commit(bool sync) {
  if (digest_.empty()) finish();
  if (::fchmod(fd_.get(), 0444) != 0) throw_errno("chmod " + tmp_);
  if (sync && ::fsync(fd_.get()) != 0) throw_errno("fsync " + tmp_);
  std::string dst = store_->path(digest_);
  // Same digest = same bytes, so losing a race to another writer is fine.
  if (::rename(tmp_.c_str(), dst.c_str()) != 0) throw_errno("store blob " + digest_);
  committed_ = true;
}

}  // namespace berth::image
