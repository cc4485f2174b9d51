// OCI image layout: oci-layout, index.json, blobs/sha256/<hex>.
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "image/formats.hpp"
#include "image/reference.hpp"

namespace berth::image {

using nlohmann::json;

static std::string blob_path(const std::string& digest) { return "blobs/sha256/" + digest_hex(digest); }

const oci::Descriptor& pick_platform(const oci::Index& idx, const std::string& what) {
  if (idx.manifests.empty()) throw Error(what + " lists no manifests", ErrorKind::InvalidArgument);
  for (auto& d : idx.manifests)
    if (d.platform && d.platform->os == "linux" && d.platform->architecture == "amd64") return d;
  if (idx.manifests.size() == 1) return idx.manifests[0];
  std::string have;
  for (auto& d : idx.manifests)
    if (d.platform) have += (have.empty() ? "" : ", ") + d.platform->os + "/" + d.platform->architecture;
  throw Error(what + " has no linux/amd64 image (has " + have + ")", ErrorKind::Unsupported);
}

// Names an OCI layout gives an image: containerd's full-name annotation,
// else a ref.name that is a whole reference. A bare tag ("latest") names
// no repository, so such an image loads untagged (as in Docker).
static std::vector<std::string> names_of(const oci::Descriptor& d) {
  std::vector<std::string> out;
  auto it = d.annotations.find(oci::kAnnotationContainerdName);
  if (it != d.annotations.end() && is_valid_reference(it->second)) {
    out.push_back(parse_reference(it->second).str());
    return out;
  }
  it = d.annotations.find(oci::kAnnotationRefName);
  if (it != d.annotations.end() && (it->second.find(':') != std::string::npos || it->second.find('/') != std::string::npos) &&
      is_valid_reference(it->second))
    out.push_back(parse_reference(it->second).str());
  return out;
}

static std::string stage_manifest(ImageSource& src, Staging& st, const oci::Descriptor& d) {
  std::string bytes = src.read(blob_path(d.digest));
  st.add(bytes, d.digest, "manifest " + d.digest);
  auto m = oci::parse_manifest(bytes, "manifest " + d.digest);
  src.stage(blob_path(m.config.digest), m.config.digest, st);
  for (auto& l : m.layers) {
    if (!src.exists(blob_path(l.digest)))
      throw Error("layer " + l.digest + " is missing from " + src.describe(), ErrorKind::InvalidArgument);
    src.stage(blob_path(l.digest), l.digest, st);
  }
  return d.digest;
}

// Verified digests make a cycle of indexes impossible (an index cannot
// name its own hash), but a hostile layout can still nest them deeply.
constexpr int kMaxIndexDepth = 8;

// Follows index -> index -> ... -> manifest, taking the linux/amd64 entry
// of each index; stages the manifest and its blobs, returns its digest.
static std::string stage_image(ImageSource& src, Staging& st, const oci::Descriptor& d, int depth = 0) {
  if (!oci::is_index_media_type(d.media_type)) return stage_manifest(src, st, d);
  std::string what = "index " + d.digest;
  if (depth == kMaxIndexDepth)
    throw Error(what + ": indexes nested more than " + std::to_string(kMaxIndexDepth) + " deep",
                ErrorKind::InvalidArgument);
  std::string bytes = src.read(blob_path(d.digest));
  if (std::string got = sha256_digest(bytes); got != d.digest)
    throw Error("blob " + d.digest + " is corrupt: content hashes to " + got, ErrorKind::Corrupt);
  return stage_image(src, st, pick_platform(oci::parse_index(bytes, what), what), depth + 1);
}

std::vector<ImportedImage> import_oci_layout(ImageSource& src, Staging& st) {
  std::string layout = src.read("oci-layout");
  try {
    if (json::parse(layout).value("imageLayoutVersion", "") != "1.0.0")
      throw Error("unsupported imageLayoutVersion in oci-layout", ErrorKind::Unsupported);
  } catch (const json::exception&) {
    throw Error(src.describe() + ": oci-layout is not valid JSON", ErrorKind::InvalidArgument);
  }
  auto idx = oci::parse_index(src.read("index.json"), src.describe() + ": index.json");
  std::vector<ImportedImage> out;
  for (auto& d : idx.manifests) {
    if (d.platform && !(d.platform->os == "linux" && d.platform->architecture == "amd64") && idx.manifests.size() > 1)
      continue;
    if (!oci::is_index_media_type(d.media_type) && !oci::is_manifest_media_type(d.media_type) &&
        !d.media_type.empty())
      continue;  // not an image (artifact, signature, ...)
    ImportedImage img;
    img.refs = names_of(d);
    img.manifest_digest = stage_image(src, st, d);
    out.push_back(std::move(img));
  }
  if (out.empty()) throw Error(src.describe() + ": index.json holds no linux/amd64 image", ErrorKind::Unsupported);
  return out;
}

void write_oci_archive(ImageStore& store, const std::vector<ExportImage>& images, TarWriter& tar) {
  tar.add_file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  oci::Index idx;
  idx.media_type = oci::media::kOciIndex;
  std::set<std::string> written;
  auto put = [&](const std::string& digest) {
    if (!written.insert(digest).second) return;
    UniqueFd fd = store.content().open(digest);
    tar.add_file_from_fd(blob_path(digest), fd.get(), store.content().size(digest), 0444);
  };
  tar.add_dir("blobs", 0755);
  tar.add_dir("blobs/sha256", 0755);
  for (auto& img : images) {
    put(img.rec.manifest_digest);
    put(img.manifest.config.digest);
    for (auto& l : img.manifest.layers) put(l.digest);
    oci::Descriptor d;
    d.media_type = img.manifest.media_type.empty() ? oci::media::kOciManifest : img.manifest.media_type;
    d.digest = img.rec.manifest_digest;
    d.size = static_cast<int64_t>(img.manifest_bytes.size());
    if (img.refs.empty()) {
      idx.manifests.push_back(d);
    }
    for (auto& r : img.refs) {
      auto ref = parse_reference(r);
      oci::Descriptor named = d;
      named.annotations[oci::kAnnotationContainerdName] = ref.str();
      if (!ref.tag.empty()) named.annotations[oci::kAnnotationRefName] = ref.tag;
      idx.manifests.push_back(named);
    }
  }
  tar.add_file("index.json", oci::serialize(idx));
}

}  // namespace berth::image
