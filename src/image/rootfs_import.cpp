#include "image/rootfs_import.hpp"

#include <archive.h>
#include <archive_entry.h>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/json_text.hpp"
#include "image/reference.hpp"
#include "oci/image_spec.hpp"

namespace berth::image {

// libarchive's message for the last error, which is null when the stream
// just ended (found by tests/fuzz/layer_unpack: a gzip layer holding
// nothing made std::string(nullptr) crash).
static const char* archive_why(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unexpected end of the archive";
}

using nlohmann::json;

ImageRecord import_rootfs(ImageStore& store, int fd, const ImportOptions& o) {
  std::vector<std::string> refs;
  for (auto& r : o.refs) refs.push_back(parse_reference(r).str());
  auto lock = store.shared_lock();
  // libarchive's "raw" format with every filter: the decompressed bytes.
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  struct Closer {
    archive* a;
    ~Closer() { archive_read_free(a); }
  } closer{a};
  if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK)
    throw Error(std::string("import: read the tarball: ") + archive_why(a), ErrorKind::InvalidArgument);
  archive_entry* e;
  if (archive_read_next_header(a, &e) != ARCHIVE_OK)
    throw Error("import: the input is empty or not an archive", ErrorKind::InvalidArgument);
  BlobWriter w = store.content().writer("imported layer");
  char buf[1 << 16];
  la_ssize_t n;
  while ((n = archive_read_data(a, buf, sizeof buf)) > 0) w.write(buf, static_cast<size_t>(n));
  if (n < 0) throw Error(std::string("import: read the tarball: ") + archive_why(a), ErrorKind::InvalidArgument);
  if (w.size() == 0) throw Error("import: the input is empty", ErrorKind::InvalidArgument);
  std::string diff_id = w.finish();
  int64_t size = w.size();
  w.commit();
  std::string now = now_rfc3339();
  json cfg = {{"architecture", "amd64"},
              {"os", "linux"},
              {"created", now},
              {"config", o.config},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id}}}},
              {"history", {{{"created", now}, {"comment", o.comment}}}}};
  std::string cfg_bytes = json_text(cfg);
  oci::Manifest m;
  m.media_type = oci::media::kOciManifest;
  m.config = {oci::media::kOciConfig, store.content().put(cfg_bytes), static_cast<int64_t>(cfg_bytes.size()), {}, {}};
  m.layers.push_back({oci::media::kOciLayer, diff_id, size, {}, {}});
  std::string mdigest = store.content().put(oci::serialize(m));
  return store.add_image(mdigest, refs);
}

void apply_import_change(nlohmann::json& config, const std::string& ch) {
  auto sp = ch.find(' ');
  std::string ins = ch.substr(0, sp), arg = sp == std::string::npos ? "" : ch.substr(sp + 1);
  auto words = [&]() {
    auto j = nlohmann::json::parse(arg, nullptr, false);
    return !j.is_discarded() && j.is_array() ? j : nlohmann::json::array({"/bin/sh", "-c", arg});
  };
  if (ins == "CMD") config["Cmd"] = words();
  else if (ins == "ENTRYPOINT") config["Entrypoint"] = words();
  else if (ins == "WORKDIR") config["WorkingDir"] = arg;
  else if (ins == "USER") config["User"] = arg;
  else if (ins == "ENV") config["Env"].push_back(arg.find('=') == std::string::npos ? arg + "=" : arg);
  else throw Error(ins + " is not a valid change command", ErrorKind::InvalidArgument);
}

}  // namespace berth::image
