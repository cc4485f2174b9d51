#include "image/image_source.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"

namespace berth::image {

// libarchive's message for the last error, which is null when the stream
// just ended (found by tests/fuzz/layer_unpack: a gzip layer holding
// nothing made std::string(nullptr) crash).
static const char* archive_why(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unexpected end of the archive";
}

std::string Staging::add(std::string_view bytes, std::string_view expected, const std::string& what) {
  std::string d = expected.empty() ? sha256_digest(bytes) : std::string(expected);
  if (has(d) && !expected.empty()) {
    if (sha256_digest(bytes) != d)
      throw Error(what + ": digest mismatch: expected " + d + ", content hashes to " + sha256_digest(bytes),
                  ErrorKind::Corrupt);
    return d;
  }
  auto w = cs_.writer(what);
  w.write(bytes);
  d = w.finish(expected);
  keep(std::move(w));
  return d;
}

void Staging::keep(BlobWriter&& w) {
  if (index_.count(w.digest()) || cs_.has(w.digest())) return;  // dropped: unlinks its temp file
  index_[w.digest()] = pending_.size();
  pending_.push_back(std::move(w));
}

bool Staging::has(const std::string& digest) const { return index_.count(digest) || cs_.has(digest); }

void Staging::commit() {
  // One syncfs makes every staged blob durable before any becomes visible.
  if (pending_.size() > 1) {
    UniqueFd d(::open(cs_.dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d || ::syncfs(d.get()) != 0) throw_errno("sync content store " + cs_.dir());
  }
  for (auto& w : pending_) w.commit(pending_.size() <= 1);
  if (!pending_.empty()) fs::fsync_dir(cs_.dir());
  pending_.clear();
  index_.clear();
}

namespace {

constexpr int64_t kMemoryLimit = 4 << 20;

std::string clean(std::string p) {
  while (p.starts_with("./")) p.erase(0, 2);
  while (p.starts_with("/")) p.erase(0, 1);
  while (p.ends_with("/")) p.pop_back();
  return p;
}

// Resolves a relative symlink target against the directory of `from`.
std::string resolve_link(const std::string& from, const std::string& target) {
  std::vector<std::string> parts;
  std::string base = target.starts_with("/") ? "" : from.substr(0, from.rfind('/') == std::string::npos ? 0 : from.rfind('/'));
  std::string all = base.empty() ? target : base + "/" + target;
  size_t pos = 0;
  while (pos <= all.size()) {
    size_t n = all.find('/', pos);
    if (n == std::string::npos) n = all.size();
    std::string c = all.substr(pos, n - pos);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    pos = n + 1;
  }
  std::string out;
  for (auto& c : parts) out += (out.empty() ? "" : "/") + c;
  return out;
}

class TarSource : public ImageSource {
 public:
  TarSource(int fd, std::string name, const ContentStore& cs) : name_(std::move(name)) {
    archive* a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    struct Free {
      archive* a;
      ~Free() { archive_read_free(a); }
    } guard{a};
    if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK)
      throw Error(name_ + ": " + archive_why(a), ErrorKind::InvalidArgument);
    archive_entry* e;
    bool any = false;
    for (;;) {
      int r = archive_read_next_header(a, &e);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) {
        std::string why = archive_why(a);
        if (!any) throw Error(name_ + ": not a tar archive (" + why + ")", ErrorKind::InvalidArgument);
        throw Error(name_ + ": archive is truncated or damaged (" + why + ")", ErrorKind::Corrupt);
      }
      any = true;
      std::string path = clean(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
      if (path.empty()) continue;
      Member m;
      if (const char* hl = archive_entry_hardlink(e)) {
        m.link = clean(hl);
        members_[path] = std::move(m);
        continue;
      }
      if (archive_entry_filetype(e) == AE_IFLNK) {
        m.link = resolve_link(path, archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
        members_[path] = std::move(m);
        continue;
      }
      if (archive_entry_filetype(e) != AE_IFREG) continue;
      std::string expected;
      if (path.starts_with("blobs/sha256/") && is_sha256_hex(path.substr(13))) expected = "sha256:" + path.substr(13);
      int64_t size = archive_entry_size(e);
      m.size = size;
      // Hands each data block of the entry to `sink`.
      auto read_blocks = [&](auto&& sink) {
        const void* buf;
        size_t len;
        la_int64_t off;
        for (;;) {
          int rr = archive_read_data_block(a, &buf, &len, &off);
          if (rr == ARCHIVE_EOF) return;
          if (rr < ARCHIVE_WARN)
            throw Error(name_ + ": " + path + ": archive is truncated or damaged (" + archive_why(a) + ")",
                        ErrorKind::Corrupt);
          sink(buf, len);
        }
      };
      if (size <= kMemoryLimit) {
        m.bytes.reserve(size);
        read_blocks([&](const void* buf, size_t len) { m.bytes.append(static_cast<const char*>(buf), len); });
        m.in_memory = true;
        m.digest = sha256_digest(m.bytes);
        if (!expected.empty() && m.digest != expected)
          throw Error("blob " + expected + " (" + path + ") is corrupt: content hashes to " + m.digest,
                      ErrorKind::Corrupt);
      } else {
        auto w = cs.writer(expected.empty() ? path : "blob " + expected);
        read_blocks([&](const void* buf, size_t len) { w.write(buf, len); });
        if (w.size() != size)
          throw Error(name_ + ": " + path + ": archive is truncated", ErrorKind::Corrupt);
        try {
          w.finish(expected);
        } catch (Error& err) {
          throw Error("blob " + expected + " (" + path + ") is corrupt: content hashes to " + w.digest(),
                      ErrorKind::Corrupt);
        }
        m.digest = w.digest();
        m.writer = std::make_unique<BlobWriter>(std::move(w));
      }
      members_[path] = std::move(m);
    }
    if (!any) throw Error(name_ + ": empty archive", ErrorKind::InvalidArgument);
  }

  bool exists(const std::string& path) const override { return find(clean(path)) != nullptr; }

  std::string read(const std::string& path) const override {
    const Member* m = find(clean(path));
    if (!m) throw Error(name_ + ": no member " + path, ErrorKind::InvalidArgument);
    if (!m->in_memory) throw Error(name_ + ": member " + path + " is too large", ErrorKind::InvalidArgument);
    return m->bytes;
  }

  std::string stage(const std::string& path, const std::string& expected, Staging& st) override {
    Member* m = const_cast<Member*>(find(clean(path)));
    if (!m) throw Error(name_ + ": no member " + path, ErrorKind::InvalidArgument);
    if (!expected.empty() && m->digest != expected)
      throw Error("blob " + expected + " (" + path + ") is corrupt: content hashes to " + m->digest,
                  ErrorKind::Corrupt);
    if (m->in_memory) return st.add(m->bytes, m->digest, path);
    if (m->writer) st.keep(std::move(*m->writer)), m->writer.reset();
    return m->digest;
  }

  int64_t size(const std::string& path) const override {
    const Member* m = find(clean(path));
    if (!m) throw Error(name_ + ": no member " + path, ErrorKind::InvalidArgument);
    return m->size;
  }

  std::string describe() const override { return name_; }

 private:
  struct Member {
    bool in_memory = false;
    std::string bytes;
    std::string digest;
    std::string link;
    int64_t size = 0;
    std::unique_ptr<BlobWriter> writer;
  };
  const Member* find(const std::string& path) const {
    std::string p = path;
    for (int hops = 0; hops < 8; ++hops) {
      auto it = members_.find(p);
      if (it == members_.end()) return nullptr;
      if (it->second.link.empty()) return &it->second;
      p = it->second.link;
    }
    return nullptr;
  }
  std::string name_;
  std::map<std::string, Member> members_;
};

// Hands `sink` each block read from fd, to its end.
template <typename Sink>
void read_blocks(int fd, const std::string& path, Sink&& sink) {
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read " + path);
    }
    if (n == 0) return;
    sink(buf.data(), static_cast<size_t>(n));
  }
}

class DirSource : public ImageSource {
 public:
  explicit DirSource(std::string dir) : dir_(std::move(dir)) {}
  bool exists(const std::string& path) const override { return fs::exists(dir_ + "/" + clean(path)); }
  std::string read(const std::string& path) const override {
    std::string p = dir_ + "/" + clean(path);
    if (!fs::exists(p)) throw Error(dir_ + ": no file " + path, ErrorKind::InvalidArgument);
    return fs::read_file(p);
  }
  std::string stage(const std::string& path, const std::string& expected, Staging& st) override {
    std::string p = dir_ + "/" + clean(path);
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + p);
    auto corrupt = [&](const std::string& got) {
      return Error("blob " + expected + " (" + p + ") is corrupt: content hashes to " + got, ErrorKind::Corrupt);
    };
    if (!expected.empty() && st.has(expected)) {
      // The store has it: no copy, but this file must still be what its name says.
      Sha256 h;
      read_blocks(fd.get(), p, [&](const char* b, size_t n) { h.update(b, n); });
      if (std::string got = h.digest(); got != expected) throw corrupt(got);
      return expected;
    }
    auto w = st.store().writer(expected.empty() ? path : "blob " + expected);
    read_blocks(fd.get(), p, [&](const char* b, size_t n) { w.write(b, n); });
    try {
      w.finish(expected);
    } catch (Error&) {
      throw corrupt(w.digest());
    }
    std::string d = w.digest();
    st.keep(std::move(w));
    return d;
  }
  int64_t size(const std::string& path) const override {
    struct stat st;
    std::string p = dir_ + "/" + clean(path);
    if (::stat(p.c_str(), &st) != 0) throw_errno("stat " + p);
    return st.st_size;
  }
  std::string describe() const override { return dir_; }

 private:
  std::string dir_;
};

}  // namespace

std::unique_ptr<ImageSource> read_tar_source(int fd, const std::string& name, const ContentStore& cs) {
  return std::make_unique<TarSource>(fd, name, cs);
}

std::unique_ptr<ImageSource> dir_source(const std::string& dir) { return std::make_unique<DirSource>(dir); }

}  // namespace berth::image
