// `berth import`: a root filesystem tarball (plain, gzip, zstd, xz or
// bzip2; what `berth export` or `docker export` writes) becomes an image of
// one layer. The layer is stored uncompressed, so its digest is its diff-id,
// and it is unpacked (and so checked) like any layer.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/image_store.hpp"

namespace berth::image {

struct ImportOptions {
  std::vector<std::string> refs;  // tags for the new image
  std::string comment;            // history comment ("Imported from FILE")
  nlohmann::json config = nlohmann::json::object();  // the image's "config" (--change)
};

// One docker import --change ("CMD [...]", "ENV K=V", "WORKDIR /d",
// "USER u", "ENTRYPOINT ...") applied to `config`; InvalidArgument
// "X is not a valid change command" for the others.
void apply_import_change(nlohmann::json& config, const std::string& change);

ImageRecord import_rootfs(ImageStore& store, int fd, const ImportOptions& o);

}  // namespace berth::image
