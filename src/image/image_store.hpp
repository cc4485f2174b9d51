// The image store: images and tags (SQLite, <root>/berth.db), blobs
// (ContentStore), unpacked layers (<root>/layers/<chain-id>/diff) and the
// snapshot records that say which container rootfs uses which image.
//
// Concurrency: every mutating operation holds <root>/image.lock shared;
// garbage collection holds it exclusively, so it never deletes a blob or
// layer that an import in flight is about to reference. Layer unpacks of
// the same chain-id serialise on a per-layer lock and run once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "common/sqlite.hpp"
#include "image/content_store.hpp"
#include "oci/image_spec.hpp"

namespace berth::image {

class ImageSource;

struct ImageRecord {
  std::string id;               // config digest (Docker's image ID)
  std::string manifest_digest;  // sha256 of the manifest blob
  std::string created;          // RFC 3339 from the config
  int64_t size = 0;             // unpacked size (sum of layer file sizes)
  std::vector<std::string> tags;  // normalised references
};

struct LayerInfo {
  std::string chain_id;
  std::string diff_id;
  std::string dir;  // .../layers/<hex>/diff
  int64_t size = 0;
};

struct RemoveReport {
  std::vector<std::string> untagged;  // familiar refs
  std::vector<std::string> deleted;   // image ids
};

struct GcReport {
  int blobs = 0;
  int layers = 0;
  int64_t bytes = 0;
};

// A held flock; released on destruction.
class FileLock {
 public:
  FileLock(const std::string& path, bool exclusive);
  FileLock(FileLock&&) = default;

 private:
  UniqueFd fd_;
};

class ImageStore {
 public:
  explicit ImageStore(std::string root);

  const std::string& root() const { return root_; }
  ContentStore& content() { return content_; }
  Database& db() { return db_; }
  FileLock shared_lock() const { return FileLock(root_ + "/image.lock", false); }
  FileLock exclusive_lock() const { return FileLock(root_ + "/image.lock", true); }

  // --- layers
  std::string layer_dir(const std::string& chain_id) const;  // .../diff
  // Unpacks blob `blob_digest` as layer `chain_id` unless already present;
  // either way the blob's uncompressed stream must hash to `diff_id`
  // (Corrupt otherwise).
  LayerInfo ensure_layer(const std::string& chain_id, const std::string& blob_digest, const std::string& diff_id);

  // --- images
  // Records the image whose manifest blob is in the content store (its
  // config and layer blobs too): unpacks its layers, then in one
  // transaction writes the image and moves the tags to it.
  ImageRecord add_image(const std::string& manifest_digest, const std::vector<std::string>& refs);
  // By reference (busybox, busybox:1, name@sha256:...), full or short image
  // ID (sha256:abc..., abc123). NotFound if none.
  ImageRecord resolve(const std::string& name_or_id);
  std::optional<ImageRecord> find(const std::string& name_or_id);
  std::vector<ImageRecord> list();
  oci::Manifest manifest(const ImageRecord& img);
  std::string manifest_bytes(const ImageRecord& img);
  oci::ImageConfig config(const ImageRecord& img);
  std::vector<std::string> chain_ids(const ImageRecord& img);

  void tag(const std::string& source, const std::string& target);
  // Untags `name` (or all tags when given an ID) and deletes the image when
  // no tag is left. Refuses an image a snapshot uses unless `force`.
  RemoveReport remove(const std::string& name, bool force);
  // Deletes dangling images (all unused images with `all`), then GC.
  RemoveReport prune(bool all, GcReport* gc_report = nullptr);
  // Snapshot keys (container ids) whose rootfs is built from image `id`.
  std::vector<std::string> users(const std::string& image_id);
  // Drops the record of image `id` if it has no tag and no snapshot uses
  // it (a builder's intermediate image); its blobs stay for the next GC.
  // True if it was dropped.
  bool forget_if_unused(const std::string& id);

  // Deletes blobs and layers no image or snapshot references.
  GcReport gc();

  // --- import / export
  // Loads every image of an archive file (or stdin when path is "-" / empty)
  // or an OCI layout directory: OCI layout (dir or tar), docker-archive.
  std::vector<ImageRecord> load(const std::string& path);
  std::vector<ImageRecord> load_fd(int fd, const std::string& name);
  std::vector<ImageRecord> import(ImageSource& src);
  // Writes the images to `out_fd` as "oci-archive" or "docker-archive".
  void save(const std::vector<std::string>& names, const std::string& format, int out_fd);

  // --- snapshot records (used by OverlaySnapshotter)
  void record_snapshot(const std::string& key, const std::string& image_id,
                       const std::vector<std::string>& chain_ids);
  struct SnapshotRecord {
    std::string key, image_id;
    std::vector<std::string> chain_ids;
    int64_t created = 0;
  };
  std::optional<SnapshotRecord> snapshot(const std::string& key);
  std::vector<SnapshotRecord> snapshots();
  void forget_snapshot(const std::string& key);

 private:
  struct PreparedLayer;
  std::optional<PreparedLayer> prepare_layer(const std::string& chain_id, const std::string& blob_digest,
                                             const std::string& diff_id, int64_t* size);
  void publish_layers(std::vector<PreparedLayer>& layers);
  void check_diff_id(const std::string& blob_digest, const std::string& diff_id);
  void remember_diff_id(const std::string& blob_digest, const std::string& diff_id);
  // Holds image.lock shared, sweeps stale ingest, imports what `open`
  // gives; on failure collects the garbage the attempt left.
  std::vector<ImageRecord> load_from(const std::function<std::unique_ptr<ImageSource>()>& open);
  std::optional<ImageRecord> load_record(const std::string& id);
  void delete_image_row(const std::string& id);
  std::string root_;
  ContentStore content_;
  Database db_;
};

// Docker-style "4.26MB" (decimal units, 3 significant digits).
std::string human_size(int64_t bytes);
// Docker-style "3 weeks ago" for an RFC 3339 time; "N/A" if unparsable.
std::string human_since(const std::string& rfc3339);
int64_t parse_rfc3339(const std::string& s);  // seconds since epoch; -1 if bad
int64_t parse_rfc3339_nanos(const std::string& s);  // nanoseconds since epoch; -1 if bad
std::string short_id(const std::string& digest);  // 12 hex chars

}  // namespace berth::image
