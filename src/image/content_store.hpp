// Content-addressed blob store: <root>/content/sha256/<hex>.
//
// Blobs are hashed while they are written into <root>/content/ingest/ and
// only renamed into place once their digest is verified and the data is
// fsynced, so a reader never sees a partial or wrong blob and any number of
// writers (threads or processes) may race to store the same blob.
//
// A writer holds a flock on its ingest file for as long as it lives, so a
// file whose lock can be taken belongs to a writer that died (a killed
// load) and can be removed while other writers are busy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "common/fd.hpp"

namespace berth::image {

class ContentStore;

// One blob being written. Destroying it without commit() discards it.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) = delete;
  ~BlobWriter();
  void write(const void* data, size_t len);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Finishes hashing; if `expected` is non-empty the digest must match
  // (Corrupt error naming both otherwise). Returns the digest. The blob is
  // still private until commit().
  std::string finish(std::string_view expected = {});
  // Makes the blob visible at its content address (fsync + rename). With
  // sync=false the caller has made the data durable (one syncfs for many).
  void commit(bool sync = true);
  const std::string& digest() const { return digest_; }
  int64_t size() const { return size_; }

 private:
  friend class ContentStore;
  BlobWriter(const ContentStore& store, std::string what);
  const ContentStore* store_;
  std::string what_;
  std::string tmp_;
  UniqueFd fd_;
  Sha256 hash_;
  std::string digest_;
  int64_t size_ = 0;
  bool committed_ = false;
  std::string buf_;
};

class ContentStore {
 public:
  explicit ContentStore(std::string root);
  const std::string& dir() const { return dir_; }
  std::string path(std::string_view digest) const;
  bool has(std::string_view digest) const;
  int64_t size(std::string_view digest) const;  // NotFound if absent

  // `what` names the blob in errors ("layer 2 of busybox").
  BlobWriter writer(std::string what = "blob") const;
  // Stores bytes; checks `expected` if given. Returns the digest.
  std::string put(std::string_view bytes, std::string_view expected = {}) const;
  // Reads a (small) blob and verifies its digest.
  std::string read(std::string_view digest) const;
  UniqueFd open(std::string_view digest) const;
  // Re-hashes a stored blob; Corrupt error naming the digest on mismatch.
  void verify(std::string_view digest) const;
  void remove(std::string_view digest) const;
  std::vector<std::string> list() const;  // digests
  // Removes the ingest files of dead writers (never a live writer's);
  // returns the bytes freed.
  int64_t remove_stale_ingest() const;

 private:
  friend class BlobWriter;
  std::string dir_;     // <root>/content/sha256
  std::string ingest_;  // <root>/content/ingest
};

}  // namespace berth::image
