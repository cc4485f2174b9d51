#include "registry/blob_download.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"

namespace berth::registry {

static constexpr int kAttempts = 4;

namespace {

void write_all(int fd, const char* p, size_t n, const std::string& path) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw_errno("write " + path);
    p += w, n -= w;
  }
}

// Hashes what a partial file already holds; returns its length.
int64_t rehash(int fd, Sha256& h, const std::string& path) {
  std::string buf(1 << 20, '\0');
  int64_t total = 0;
  if (::lseek(fd, 0, SEEK_SET) < 0) throw_errno("seek " + path);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read " + path);
    if (n == 0) break;
    h.update(buf.data(), n);
    total += n;
  }
  return total;
}

}  // namespace

bool download_blob(DistributionClient& client, const std::string& repo, const oci::Descriptor& d,
                   const std::string& root, const image::ContentStore& cs, const std::string& what,
                   const ByteProgress& progress) {
  if (cs.has(d.digest)) return false;
  std::string dir = root + "/content/download";
  fs::mkdir_p(dir, 0700);
  std::string path = dir + "/" + digest_hex(d.digest);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw_errno("open " + path);
  int rc;
  while ((rc = ::flock(fd.get(), LOCK_EX)) != 0 && errno == EINTR) {
  }
  if (rc != 0) throw_errno("lock " + path);
  // Another pull finished it while we waited for the lock.
  if (cs.has(d.digest)) return false;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + path);
  if (st.st_nlink == 0) {  // its owner stored it and unlinked it: open again
    fd.reset();
    return download_blob(client, repo, d, root, cs, what, progress);
  }
  for (int attempt = 1;; ++attempt) {
    Sha256 h;
    int64_t have = rehash(fd.get(), h, path);
    if (d.size > 0 && have > d.size) {  // longer than the blob: start over
      if (::ftruncate(fd.get(), 0) != 0) throw_errno("truncate " + path);
      h = Sha256();
      have = 0;
    }
    int64_t at_start = have;
    progress(have, d.size);
    std::string err;
    try {
      if (d.size == 0 || have < d.size)
        client.get_blob(
            repo, d.digest, have,
            [&](int64_t from) {
              if (from == have) return;
              // The registry sends it all again: drop what we had.
              if (::ftruncate(fd.get(), 0) != 0 || ::lseek(fd.get(), 0, SEEK_SET) < 0) throw_errno("truncate " + path);
              h = Sha256();
              have = 0;
            },
            [&](const char* p, size_t n) {
              if (d.size > 0 && have + static_cast<int64_t>(n) > d.size) {
                err = what + " " + d.digest + ": the registry sends more than its " + std::to_string(d.size) +
                      " bytes";
                return false;
              }
              write_all(fd.get(), p, n, path);
              h.update(p, n);
              have += n;
              progress(have, d.size);
              return true;
            });
    } catch (const Error& e) {
      if (!err.empty()) {
        ::unlink(path.c_str());
        fail(err, ErrorKind::Corrupt);
      }
      // A dropped connection that moved us forward is worth another try
      // from where it stopped; what we have stays for the next pull.
      if (e.kind() == ErrorKind::NotFound || attempt >= kAttempts || have == at_start) {
        Error copy = e;
        throw copy.wrap(what);
      }
      continue;
    }
    if (!err.empty()) {
      ::unlink(path.c_str());
      fail(err, ErrorKind::Corrupt);
    }
    if (d.size > 0 && have < d.size) {
      if (attempt >= kAttempts || have == at_start)
        fail(what + " " + d.digest + ": the registry ended the blob after " + std::to_string(have) + " of " +
                 std::to_string(d.size) + " bytes",
             ErrorKind::FailedPrecondition);
      continue;
    }
    std::string got = h.digest();
    if (got != d.digest) {
      ::unlink(path.c_str());
      fail(what + ": digest mismatch: the manifest says " + d.digest + ", the registry's content hashes to " + got +
               " (nothing was stored)",
           ErrorKind::Corrupt);
    }
    break;
  }
  if (::fchmod(fd.get(), 0444) != 0) throw_errno("chmod " + path);
  if (::fsync(fd.get()) != 0) throw_errno("fsync " + path);
  if (::rename(path.c_str(), cs.path(d.digest).c_str()) != 0) throw_errno("store blob " + d.digest);
  return true;
}

}  // namespace berth::registry
