// Where an image archive's files come from while it is imported: a tar
// (read once, front to back; big members are streamed straight into the
// content store's ingest area) or an OCI layout directory (files read on
// demand). Import code asks for members by path.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "image/content_store.hpp"

namespace berth::image {

// Blobs written during one import, invisible until commit(). Destroying it
// without commit() discards them, so a failed or truncated import leaves
// nothing behind in the content store.
class Staging {
 public:
  explicit Staging(const ContentStore& cs) : cs_(cs) {}
  // Stores bytes; checks `expected` if given; returns the digest.
  std::string add(std::string_view bytes, std::string_view expected, const std::string& what);
  void keep(BlobWriter&& w);
  bool has(const std::string& digest) const;
  void commit();
  const ContentStore& store() const { return cs_; }

 private:
  const ContentStore& cs_;
  std::vector<BlobWriter> pending_;
  std::map<std::string, size_t> index_;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual bool exists(const std::string& path) const = 0;
  // Bytes of a (small) member; NotFound/InvalidArgument naming the path.
  virtual std::string read(const std::string& path) const = 0;
  virtual int64_t size(const std::string& path) const = 0;
  // Puts a member into staging, verifying `expected` when non-empty;
  // returns its digest.
  virtual std::string stage(const std::string& path, const std::string& expected, Staging& st) = 0;
  virtual std::string describe() const = 0;
};

// Reads a whole tar (optionally gzip/zstd/xz compressed) from fd once.
// Members larger than `memory_limit` go to the content store's ingest area
// (hashed on the way); `blobs/sha256/<hex>` members are verified against
// their name as they stream (Corrupt error naming the digest).
std::unique_ptr<ImageSource> read_tar_source(int fd, const std::string& name, const ContentStore& cs);
std::unique_ptr<ImageSource> dir_source(const std::string& dir);

}  // namespace berth::image
