// COPY and ADD: sources resolved and digested (the cache key's part), then
// written into an overlay snapshot of the current state whose upper dir
// becomes the layer.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "build/image_state.hpp"
#include "build/source_tree.hpp"

namespace berth::build {

struct CopyRequest {
  bool add = false;
  std::string chown, chmod, checksum;  // flags, expanded
  std::vector<std::string> sources;    // expanded paths (or ADD URLs)
  std::vector<std::pair<std::string, std::string>> inline_files;  // heredocs: name, content
  std::string dest;                    // absolute in the image
  bool dest_is_dir = false;            // written with a trailing "/"
};

struct CopySources {
  std::vector<std::string> rels;  // resolved in the context (empty for --from: resolved at copy time)
  std::string digest;             // what the cache key holds of the sources
  struct Fetched {
    std::string name, body;
    int64_t mtime = -1;  // Last-Modified; -1: none
  };
  std::vector<Fetched> fetched;  // ADD URLs
};

// Another image's filesystem, read-only, at `dir` (under <root>/build-tmp/)
// while this lives: COPY --from and RUN --mount=type=bind,from=.
struct MountedImage {
  std::string dir;
  bool mounted = false;
  MountedImage(image::ImageStore& store, const image::ImageRecord& rec);
  ~MountedImage();
  MountedImage(const MountedImage&) = delete;
  MountedImage& operator=(const MountedImage&) = delete;
};

// The build context: `dir` with its .dockerignore.
SourceTree open_context(const std::string& dir);

// `root`: the store's, where ADD's URL downloads pass through.
CopySources resolve_copy_sources(const CopyRequest& r, const SourceTree* context, const std::string& root);

oci::Descriptor copy_into_layer(image::ImageStore& store, const ImageState& parent, const CopyRequest& r,
                                const CopySources& src, const ImageState* from, const SourceTree* context,
                                std::vector<std::string>* made);

// WORKDIR: a layer holding `dir` (made 0755, root's) when the state
// lacks it, as docker's builder makes it (the runtime does not create a
// missing working dir); nothing when it is there.
std::optional<oci::Descriptor> workdir_layer(image::ImageStore& store, const ImageState& parent, const std::string& dir,
                                             std::vector<std::string>* made);

}  // namespace berth::build
