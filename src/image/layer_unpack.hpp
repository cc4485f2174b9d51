// Unpacks one image layer (a tar, uncompressed / gzip / zstd) into a
// directory that becomes an overlayfs lower dir.
//
// Safety: every path is resolved inside the destination with fd-relative
// walking (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), never by joining
// strings; entries with absolute paths, ".." components, parents that are
// symlinks, or hardlinks leaving the layer are refused with an error naming
// the entry, before anything is written for that entry.
//
// OCI whiteouts become overlayfs whiteouts: ".wh.NAME" -> a 0/0 character
// device NAME, ".wh..wh..opq" -> trusted.overlay.opaque=y on the directory.
// Ownership, modes (incl. setuid), times, xattrs, hardlinks, device nodes
// and sparse files are kept. The stream is read once; its sha256 (the
// layer's diff-id) is computed while unpacking.
#pragma once

#include <cstdint>
#include <string>

namespace berth::image {

struct UnpackOptions {
  // Restore file owners (default: when running as root).
  bool same_owner = true;
};

struct UnpackResult {
  std::string diff_id;       // sha256 of the uncompressed tar stream
  int64_t tar_size = 0;      // bytes of the uncompressed tar stream
  int64_t content_size = 0;  // sum of regular-file sizes
  int64_t entries = 0;
};

// `in_fd` is read to its end (it need not be seekable). `dest` must be an
// existing directory, normally empty.
UnpackResult unpack_layer(int in_fd, const std::string& dest, const UnpackOptions& opts = {});

// The diff-id of a layer blob (sha256 of its uncompressed tar stream),
// without unpacking it: what checks a blob whose layer is already unpacked.
std::string layer_diff_id(int in_fd);

}  // namespace berth::image
