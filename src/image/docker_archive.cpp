// docker-archive: the `docker save` tar. manifest.json lists, per image,
// its config file, RepoTags and layer tars (uncompressed, in order);
// `repositories` is the legacy name -> top layer map.
#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "image/formats.hpp"
#include "image/reference.hpp"

namespace berth::image {

// libarchive's message for the last error, which is null when the stream
// just ended (found by tests/fuzz/layer_unpack: a gzip layer holding
// nothing made std::string(nullptr) crash).
static const char* archive_why(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unexpected end of the archive";
}

using nlohmann::json;

std::vector<ImportedImage> import_docker_archive(ImageSource& src, Staging& st) {
  json top;
  try {
    top = json::parse(src.read("manifest.json"));
  } catch (const json::exception& e) {
    throw Error(src.describe() + ": manifest.json: invalid JSON: " + e.what(), ErrorKind::InvalidArgument);
  }
  if (!top.is_array() || top.empty())
    throw Error(src.describe() + ": manifest.json lists no images", ErrorKind::InvalidArgument);
  std::vector<ImportedImage> out;
  for (auto& entry : top) {
    if (!entry.is_object() || !entry.contains("Config") || !entry["Config"].is_string() || !entry.contains("Layers") ||
        !entry["Layers"].is_array())
      throw Error(src.describe() + ": manifest.json entry lacks Config or Layers", ErrorKind::InvalidArgument);
    std::string config_path = entry["Config"];
    std::string config_bytes = src.read(config_path);
    auto cfg = oci::parse_config(config_bytes, src.describe() + ": " + config_path);
    std::string config_digest = st.add(config_bytes, {}, "config " + config_path);
    auto diffs = cfg.diff_ids();
    if (diffs.size() != entry["Layers"].size())
      throw Error(src.describe() + ": " + config_path + " has " + std::to_string(diffs.size()) +
                      " diff_ids but manifest.json lists " + std::to_string(entry["Layers"].size()) + " layers",
                  ErrorKind::InvalidArgument);
    oci::Manifest m;
    // docker-archive carries no manifest; the one we make is plain OCI so the
    // image saves as an OCI layout every OCI tool (umoci) reads.
    m.media_type = oci::media::kOciManifest;
    m.config = {oci::media::kOciConfig, config_digest, static_cast<int64_t>(config_bytes.size()), {}, {}};
    for (size_t i = 0; i < diffs.size(); ++i) {
      if (!entry["Layers"][i].is_string())
        throw Error(src.describe() + ": manifest.json: Layers[" + std::to_string(i) + "] is not a path",
                    ErrorKind::InvalidArgument);
      std::string lp = entry["Layers"][i].get<std::string>();
      if (!src.exists(lp)) throw Error(src.describe() + ": layer " + lp + " is missing", ErrorKind::InvalidArgument);
      std::string d = src.stage(lp, {}, st);
      // An uncompressed layer's digest is its diff-id; anything else was
      // compressed (docker load accepts gzip layers; unpack sniffs the format).
      m.layers.push_back({d == diffs[i] ? oci::media::kOciLayer : oci::media::kOciLayerGzip, d, src.size(lp), {}, {}});
    }
    std::string mbytes = oci::serialize(m);
    ImportedImage img;
    img.manifest_digest = st.add(mbytes, {}, "manifest");
    if (entry.contains("RepoTags") && entry["RepoTags"].is_array())
      for (auto& t : entry["RepoTags"]) {
        if (!t.is_string()) continue;
        try {
          img.refs.push_back(parse_reference(t.get<std::string>()).str());
        } catch (const Error& e) {
          log::warn(std::string("skipping tag: ") + e.what());
        }
      }
    out.push_back(std::move(img));
  }
  return out;
}

// Bytes of a layer as an uncompressed tar, streamed into the archive. The
// tar size was recorded when the layer was unpacked.
static void add_uncompressed_layer(ImageStore& store, TarWriter& tar, const std::string& path,
                                   const std::string& blob, const std::string& chain_id) {
  int64_t tar_size = -1;
  try {
    tar_size = std::stoll(fs::read_file(store.root() + "/layers/" + digest_hex(chain_id) + "/tar-size"));
  } catch (...) {
  }
  if (tar_size < 0) throw Error("layer " + blob + ": unknown uncompressed size (layer not unpacked)");
  UniqueFd fd = store.content().open(blob);
  archive* a = archive_read_new();
  struct Free {
    archive* a;
    ~Free() { archive_read_free(a); }
  } guard{a};
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  archive_entry* e;
  if (archive_read_open_fd(a, fd.get(), 1 << 20) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK)
    throw Error("decompress layer " + blob + ": " + archive_why(a), ErrorKind::Corrupt);
  archive_entry* out = archive_entry_new();
  struct FreeE {
    archive_entry* e;
    ~FreeE() { archive_entry_free(e); }
  } g2{out};
  archive_entry_set_pathname(out, path.c_str());
  archive_entry_set_filetype(out, AE_IFREG);
  archive_entry_set_perm(out, 0644);
  archive_entry_set_size(out, tar_size);
  archive_entry_set_mtime(out, 0, 0);
  tar.write_header(out, path);
  std::vector<char> buf(1 << 20);
  int64_t done = 0;
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) throw Error("decompress layer " + blob + ": " + archive_why(a), ErrorKind::Corrupt);
    if (n == 0) break;
    if (done + n > tar_size) throw Error("layer " + blob + " decompresses to more than its recorded size", ErrorKind::Corrupt);
    tar.write_data(buf.data(), n, path);
    done += n;
  }
  if (done != tar_size) throw Error("layer " + blob + " decompresses to less than its recorded size", ErrorKind::Corrupt);
}

void write_docker_archive(ImageStore& store, const std::vector<ExportImage>& images, TarWriter& tar) {
  json manifest = json::array();
  json repositories = json::object();
  std::set<std::string> written;
  for (auto& img : images) {
    auto cfg = store.config(img.rec);
    auto diffs = cfg.diff_ids();
    auto chains = oci::chain_ids(diffs);
    std::string cfg_path = digest_hex(img.rec.id) + ".json";
    if (written.insert(cfg_path).second) tar.add_file(cfg_path, store.content().read(img.rec.id));
    json layers = json::array();
    for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
      auto& l = img.manifest.layers[i];
      std::string dir = digest_hex(diffs[i]);
      std::string path = dir + "/layer.tar";
      layers.push_back(path);
      if (!written.insert(path).second) continue;
      tar.add_dir(dir);
      if (l.digest == diffs[i]) {
        UniqueFd fd = store.content().open(l.digest);
        tar.add_file_from_fd(path, fd.get(), store.content().size(l.digest));
      } else {
        add_uncompressed_layer(store, tar, path, l.digest, chains[i]);
      }
    }
    json tags = json::array();
    for (auto& r : img.refs) {
      auto ref = parse_reference(r);
      if (ref.tag.empty()) continue;
      tags.push_back(ref.familiar_name() + ":" + ref.tag);
      if (!diffs.empty()) repositories[ref.familiar_name()][ref.tag] = digest_hex(diffs.back());
    }
    json e = {{"Config", cfg_path}, {"RepoTags", tags.empty() ? json(nullptr) : tags}, {"Layers", layers}};
    manifest.push_back(e);
  }
  tar.add_file("manifest.json", manifest.dump());
  if (!repositories.empty()) tar.add_file("repositories", repositories.dump());
}

}  // namespace berth::image
