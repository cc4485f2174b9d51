// Writes a deterministic tar (pax, mtime 0, uid/gid 0 unless given) through
// libarchive to a callback sink. Used for image archives and committed layers.
#pragma once

#include <sys/types.h>

#include <exception>
#include <functional>
#include <string>
#include <string_view>

struct archive;
struct archive_entry;

namespace berth::image {

class TarWriter {
 public:
  using Sink = std::function<void(const void*, size_t)>;
  explicit TarWriter(Sink sink);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  void add_file(const std::string& path, std::string_view data, mode_t mode = 0644);
  // Copies `size` bytes from fd (read from its current offset).
  void add_file_from_fd(const std::string& path, int fd, int64_t size, mode_t mode = 0644);
  void add_dir(const std::string& path, mode_t mode = 0755);
  void add_symlink(const std::string& path, const std::string& target);
  // Writes a fully prepared entry header (caller then calls write_data).
  void write_header(archive_entry* e, const std::string& what);
  void write_data(const void* data, size_t len, const std::string& what);
  void close();

 private:
  [[noreturn]] void raise(const std::string& what);
  static long write_cb(archive*, void* self, const void* buf, size_t len);
  archive* a_;
  Sink sink_;
  bool closed_ = false;
  std::exception_ptr sink_error_;  // the sink's own error, rethrown as is
};

// A sink that writes to a file descriptor.
TarWriter::Sink fd_sink(int fd, std::string what);

}  // namespace berth::image
