// Test fixtures for the image store: tars built entry by entry with
// libarchive (including hostile ones), OCI layouts and docker-archives
// built from them, and the checks the image tests share.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::testing {

// The error `f` throws; a test failure if it throws none.
inline Error expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error thrown";
  return Error("none");
}

inline size_t count_entries(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  namespace fsx = std::filesystem;
  return static_cast<size_t>(std::distance(fsx::directory_iterator(dir), fsx::directory_iterator{}));
}

class TarBuilder {
 public:
  explicit TarBuilder(const char* filter = nullptr) {
    a_ = archive_write_new();
    archive_write_set_format_pax_restricted(a_);
    if (filter && std::string(filter) == "gzip") archive_write_add_filter_gzip(a_);
    if (filter && std::string(filter) == "zstd") archive_write_add_filter_zstd(a_);
    archive_write_open(a_, &out_, nullptr, &TarBuilder::cb, nullptr);
  }
  ~TarBuilder() { archive_write_free(a_); }

  using Tweak = std::function<void(archive_entry*)>;
  TarBuilder& file(const std::string& p, const std::string& data, int mode = 0644, Tweak t = {}) {
    return add(p, AE_IFREG, mode, data, t);
  }
  TarBuilder& dir(const std::string& p, int mode = 0755, Tweak t = {}) { return add(p, AE_IFDIR, mode, "", t); }
  TarBuilder& symlink(const std::string& p, const std::string& target) {
    return add(p, AE_IFLNK, 0777, "", [&](archive_entry* e) { archive_entry_set_symlink(e, target.c_str()); });
  }
  TarBuilder& hardlink(const std::string& p, const std::string& target) {
    return add(p, AE_IFREG, 0644, "", [&](archive_entry* e) {
      archive_entry_set_hardlink(e, target.c_str());
      archive_entry_set_size(e, 0);
    });
  }
  TarBuilder& chardev(const std::string& p, int major, int minor, int mode = 0666) {
    return add(p, AE_IFCHR, mode, "", [&](archive_entry* e) {
      archive_entry_set_rdevmajor(e, major);
      archive_entry_set_rdevminor(e, minor);
    });
  }
  std::string finish() {
    archive_write_close(a_);
    return out_;
  }

 private:
  TarBuilder& add(const std::string& p, unsigned type, int mode, const std::string& data, const Tweak& t) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, p.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_size(e, type == AE_IFREG ? static_cast<la_int64_t>(data.size()) : 0);
    archive_entry_set_mtime(e, 1000000000, 0);
    if (t) t(e);
    archive_write_header(a_, e);
    if (!data.empty()) archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  static la_ssize_t cb(archive*, void* c, const void* b, size_t n) {
    static_cast<std::string*>(c)->append(static_cast<const char*>(b), n);
    return static_cast<la_ssize_t>(n);
  }
  archive* a_;
  std::string out_;
};

struct LayerBlob {
  std::string bytes;      // as stored (maybe compressed)
  std::string diff_id;    // sha256 of the uncompressed tar
  std::string media_type = "application/vnd.oci.image.layer.v1.tar";
};

inline LayerBlob plain_layer(const std::string& tar) { return {tar, sha256_digest(tar)}; }

// The tar gzip-compressed (as a registry serves it); its diff-id stays the
// tar's. (A TarBuilder with a gzip filter pads the tar differently.)
inline LayerBlob gzip_layer(const std::string& tar) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_raw(a);
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* c, const void* b, size_t n) {
        static_cast<std::string*>(c)->append(static_cast<const char*>(b), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "layer.tar");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(tar.size()));
  archive_write_header(a, e);
  archive_write_data(a, tar.data(), tar.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return {out, sha256_digest(tar), "application/vnd.oci.image.layer.v1.tar+gzip"};
}

// An image config whose rootfs lists the layers' diff-ids; `cmd` tells
// images with the same layers apart.
inline std::string image_config(const std::vector<LayerBlob>& layers, const std::string& cmd = "sh") {
  using nlohmann::json;
  json diffs = json::array();
  for (auto& l : layers) diffs.push_back(l.diff_id);
  json cfg = {{"architecture", "amd64"}, {"os", "linux"}, {"created", "2024-01-01T00:00:00Z"},
              {"config", {{"Cmd", {cmd}}}}, {"rootfs", {{"type", "layers"}, {"diff_ids", diffs}}}};
  return cfg.dump();
}

// Writes an OCI image layout at dir with one image made of `layers`;
// returns the manifest digest.
inline std::string write_oci_layout(const std::string& dir, const std::string& name,
                                    const std::vector<LayerBlob>& layers, const std::string& cmd = "sh") {
  using nlohmann::json;
  fs::mkdir_p(dir + "/blobs/sha256");
  auto put = [&](const std::string& bytes) {
    std::string d = sha256_digest(bytes);
    fs::write_file(dir + "/blobs/sha256/" + d.substr(7), bytes);
    return d;
  };
  json ls = json::array();
  for (auto& l : layers)
    ls.push_back({{"mediaType", l.media_type}, {"digest", put(l.bytes)}, {"size", l.bytes.size()}});
  std::string c = image_config(layers, cmd);
  json m = {{"schemaVersion", 2},
            {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
            {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", put(c)}, {"size", c.size()}}},
            {"layers", ls}};
  std::string mb = m.dump();
  std::string md = put(mb);
  json idx = {{"schemaVersion", 2},
              {"manifests",
               {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                 {"digest", md},
                 {"size", mb.size()},
                 {"annotations", {{"io.containerd.image.name", name}}}}}}};
  fs::write_file(dir + "/index.json", idx.dump());
  fs::write_file(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  return md;
}

// Makes the index.json of the layout at dir reach its image through
// `levels` nested indexes (index.json -> index -> ... -> manifest).
inline void nest_in_indexes(const std::string& dir, int levels) {
  using nlohmann::json;
  json top = json::parse(fs::read_file(dir + "/index.json"));
  json d = top["manifests"][0];
  json names = d["annotations"];
  d.erase("annotations");
  for (int i = 0; i < levels; ++i) {
    d["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
    std::string idx = json{{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"},
                           {"manifests", {d}}}.dump();
    std::string digest = sha256_digest(idx);
    fs::write_file(dir + "/blobs/sha256/" + digest.substr(7), idx);
    d = {{"mediaType", "application/vnd.oci.image.index.v1+json"}, {"digest", digest}, {"size", idx.size()}};
  }
  d["annotations"] = names;
  top["manifests"] = {d};
  fs::write_file(dir + "/index.json", top.dump());
}

// A docker-archive (`docker save` tar) of one image tagged `tag`: its
// config lists each layer's diff_id and its layer.tar holds the layer's
// bytes, whether or not they match (a test may make them lie). The layers
// come last, as in `docker save`, so a cut archive stops inside one.
inline std::string docker_archive(const std::string& tag, const std::vector<LayerBlob>& layers,
                                  const std::string& cmd = "sh") {
  using nlohmann::json;
  std::string cfg = image_config(layers, cmd);
  std::string cfg_name = sha256_digest(cfg).substr(7) + ".json";
  json paths = json::array();
  for (size_t i = 0; i < layers.size(); ++i) paths.push_back("l" + std::to_string(i) + "/layer.tar");
  TarBuilder tar;
  tar.file("manifest.json", json::array({{{"Config", cfg_name}, {"RepoTags", {tag}}, {"Layers", paths}}}).dump());
  tar.file(cfg_name, cfg);
  for (size_t i = 0; i < layers.size(); ++i) tar.dir("l" + std::to_string(i)).file(paths[i].get<std::string>(), layers[i].bytes);
  return tar.finish();
}

}  // namespace berth::testing
