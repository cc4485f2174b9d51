// Commit: a snapshot's upper dir becomes a new layer (an uncompressed tar,
// so its digest is its diff-id) and a new image whose config is the parent's
// plus that diff-id and a history entry. Overlay whiteouts (0/0 char devices)
// and opaque dirs (trusted.overlay.opaque=y) go back to OCI ".wh." entries.
#pragma once

#include <string>
#include <vector>

#include "image/image_store.hpp"

namespace berth::image {

struct CommitOptions {
  std::vector<std::string> refs;  // tags for the new image
  std::string author;
  std::string comment;
  std::string created_by;  // history entry, e.g. the build step
  // Extra config changes: replaces keys of the config's "config" object.
  nlohmann::json config_changes = nlohmann::json::object();
};

// Writes the diff of `upper` as a tar into the content store; returns
// {digest (== diff-id), size}.
std::pair<std::string, int64_t> write_diff_layer(ContentStore& cs, const std::string& upper);

ImageRecord commit_snapshot(ImageStore& store, const std::string& key, const CommitOptions& opts);

}  // namespace berth::image
