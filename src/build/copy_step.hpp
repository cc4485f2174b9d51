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
  std::vector<std::pair<std::string, std::string>> fetched;  // ADD URLs: file name, body
};

// The build context: `dir` with its .dockerignore.
SourceTree open_context(const std::string& dir);

CopySources resolve_copy_sources(const CopyRequest& r, const SourceTree* context);

oci::Descriptor copy_into_layer(image::ImageStore& store, const ImageState& parent, const CopyRequest& r,
                                const CopySources& src, const ImageState* from, const SourceTree* context,
                                std::vector<std::string>* made);

// WORKDIR: a layer holding `dir` (made 0755, root's) when the state
// lacks it, as docker's builder makes it (the runtime does not create a
// missing working dir); nothing when it is there.
std::optional<oci::Descriptor> workdir_layer(image::ImageStore& store, const ImageState& parent, const std::string& dir,
                                             std::vector<std::string>* made);

}  // namespace berth::build
