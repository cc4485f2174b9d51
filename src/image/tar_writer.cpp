#include "image/tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "common/error.hpp"

namespace berth::image {

long TarWriter::write_cb(archive* a, void* client, const void* buf, size_t len) {
  auto* self = static_cast<TarWriter*>(client);
  try {
    self->sink_(buf, len);
  } catch (...) {
    self->sink_error_ = std::current_exception();
    archive_set_error(a, EIO, "output failed");
    return -1;
  }
  return static_cast<long>(len);
}

void TarWriter::raise(const std::string& what) {
  if (sink_error_) std::rethrow_exception(sink_error_);
  throw Error(what + ": " + (archive_error_string(a_) ? archive_error_string(a_) : "failed"));
}

TarWriter::TarWriter(Sink sink) : a_(archive_write_new()), sink_(std::move(sink)) {
  archive_write_set_format_pax_restricted(a_);
  archive_write_set_bytes_per_block(a_, 10240);
  if (archive_write_open(a_, this, nullptr, &TarWriter::write_cb, nullptr) != ARCHIVE_OK)
    throw Error(std::string("open tar writer: ") + archive_error_string(a_));
}

TarWriter::~TarWriter() {
  if (!closed_) {
    archive_write_fail(a_);
  }
  archive_write_free(a_);
}

void TarWriter::write_header(archive_entry* e, const std::string& what) {
  if (archive_write_header(a_, e) < ARCHIVE_WARN) raise("write tar entry " + what);
}

void TarWriter::write_data(const void* data, size_t len, const std::string& what) {
  const char* p = static_cast<const char*>(data);
  while (len) {
    la_ssize_t n = archive_write_data(a_, p, len);
    if (n < 0) raise("write tar data " + what);
    p += n;
    len -= n;
  }
}

namespace {
struct Entry {
  archive_entry* e = archive_entry_new();
  ~Entry() { archive_entry_free(e); }
};
}  // namespace

void TarWriter::add_file(const std::string& path, std::string_view data, mode_t mode) {
  Entry en;
  archive_entry_set_pathname(en.e, path.c_str());
  archive_entry_set_filetype(en.e, AE_IFREG);
  archive_entry_set_perm(en.e, mode);
  archive_entry_set_size(en.e, static_cast<la_int64_t>(data.size()));
  archive_entry_set_mtime(en.e, 0, 0);
  write_header(en.e, path);
  write_data(data.data(), data.size(), path);
}

void TarWriter::add_file_from_fd(const std::string& path, int fd, int64_t size, mode_t mode) {
  Entry en;
  archive_entry_set_pathname(en.e, path.c_str());
  archive_entry_set_filetype(en.e, AE_IFREG);
  archive_entry_set_perm(en.e, mode);
  archive_entry_set_size(en.e, size);
  archive_entry_set_mtime(en.e, 0, 0);
  write_header(en.e, path);
  std::vector<char> buf(1 << 20);
  int64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(fd, buf.data(), std::min<int64_t>(left, buf.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read " + path);
    }
    if (n == 0) throw Error("read " + path + ": file shrank while being archived");
    write_data(buf.data(), n, path);
    left -= n;
  }
}

void TarWriter::add_dir(const std::string& path, mode_t mode) {
  Entry en;
  archive_entry_set_pathname(en.e, path.c_str());
  archive_entry_set_filetype(en.e, AE_IFDIR);
  archive_entry_set_perm(en.e, mode);
  archive_entry_set_mtime(en.e, 0, 0);
  write_header(en.e, path);
}

void TarWriter::add_symlink(const std::string& path, const std::string& target) {
  Entry en;
  archive_entry_set_pathname(en.e, path.c_str());
  archive_entry_set_filetype(en.e, AE_IFLNK);
  archive_entry_set_perm(en.e, 0777);
  archive_entry_set_symlink(en.e, target.c_str());
  archive_entry_set_mtime(en.e, 0, 0);
  write_header(en.e, path);
}

void TarWriter::close() {
  if (closed_) return;
  if (archive_write_close(a_) != ARCHIVE_OK) raise("finish tar");
  closed_ = true;
}

TarWriter::Sink fd_sink(int fd, std::string what) {
  return [fd, what](const void* data, size_t len) {
    const char* p = static_cast<const char*>(data);
    while (len) {
      ssize_t n = ::write(fd, p, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("write " + what);
      }
      p += n;
      len -= n;
    }
  };
}

}  // namespace berth::image
