#include "image/layer_commit.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/json_text.hpp"
#include "image/overlay_snapshotter.hpp"
#include "image/reference.hpp"
#include "image/tar_writer.hpp"

namespace berth::image {

using nlohmann::json;

namespace {

struct Entry {
  archive_entry* e = archive_entry_new();
  ~Entry() { archive_entry_free(e); }
};

class DiffWriter {
 public:
  explicit DiffWriter(TarWriter& tar) : tar_(tar) {}

  void walk(int dirfd, const std::string& rel) {
    DIR* d = ::fdopendir(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    if (!d) throw_errno("read upper dir " + rel);
    std::vector<std::string> names;
    while (auto* de = ::readdir(d))
      if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, "..")) names.push_back(de->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());  // deterministic layers
    for (auto& n : names) one(dirfd, rel.empty() ? n : rel + "/" + n, n);
  }

 private:
  void xattrs(archive_entry* e, const std::string& proc_path) {
    char list[65536];
    ssize_t n = ::llistxattr(proc_path.c_str(), list, sizeof list);
    if (n <= 0) return;
    for (char* p = list; p < list + n; p += std::strlen(p) + 1) {
      std::string name = p;
      if (name.starts_with("trusted.overlay.")) continue;  // overlay's bookkeeping, not content
      char val[65536];
      ssize_t v = ::lgetxattr(proc_path.c_str(), p, val, sizeof val);
      if (v >= 0) archive_entry_xattr_add_entry(e, p, val, v);
    }
  }

  void one(int dirfd, const std::string& rel, const std::string& name) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat " + rel);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {  // overlay whiteout
      std::string wh = rel.substr(0, rel.size() - name.size()) + ".wh." + name;
      Entry en;
      archive_entry_set_pathname(en.e, wh.c_str());
      archive_entry_set_filetype(en.e, AE_IFREG);
      archive_entry_set_perm(en.e, 0644);
      archive_entry_set_size(en.e, 0);
      archive_entry_set_mtime(en.e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
      tar_.write_header(en.e, wh);
      return;
    }
    Entry en;
    archive_entry_set_pathname(en.e, (S_ISDIR(st.st_mode) ? rel + "/" : rel).c_str());
    archive_entry_copy_stat(en.e, &st);
    archive_entry_unset_atime(en.e);
    archive_entry_unset_ctime(en.e);
    archive_entry_set_ino(en.e, 0);
    archive_entry_set_dev(en.e, 0);
    std::string proc = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
    xattrs(en.e, proc);
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto key = std::make_pair(st.st_dev, st.st_ino);
        auto it = links_.find(key);
        if (it != links_.end()) {
          archive_entry_set_size(en.e, 0);
          archive_entry_set_hardlink(en.e, it->second.c_str());
          tar_.write_header(en.e, rel);
          return;
        }
        links_[key] = rel;
      }
      UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) throw_errno("open " + rel);
      tar_.write_header(en.e, rel);
      std::vector<char> buf(1 << 20);
      int64_t left = st.st_size;
      while (left > 0) {
        ssize_t n = ::read(fd.get(), buf.data(), std::min<int64_t>(left, buf.size()));
        if (n < 0) {
          if (errno == EINTR) continue;
          throw_errno("read " + rel);
        }
        if (n == 0) {  // shrank under us: pad to the size in the header
          std::fill(buf.begin(), buf.end(), 0);
          n = std::min<int64_t>(left, buf.size());
        }
        tar_.write_data(buf.data(), n, rel);
        left -= n;
      }
      return;
    }
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX + 1];
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target, PATH_MAX);
      if (n < 0) throw_errno("readlink " + rel);
      target[n] = 0;
      archive_entry_set_symlink(en.e, target);
      tar_.write_header(en.e, rel);
      return;
    }
    if (S_ISDIR(st.st_mode)) {
      tar_.write_header(en.e, rel);
      UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) throw_errno("open " + rel);
      char v[8];
      ssize_t n = ::fgetxattr(sub.get(), "trusted.overlay.opaque", v, sizeof v);
      if (n == 1 && v[0] == 'y') {
        Entry op;
        std::string p = rel + "/.wh..wh..opq";
        archive_entry_set_pathname(op.e, p.c_str());
        archive_entry_set_filetype(op.e, AE_IFREG);
        archive_entry_set_perm(op.e, 0644);
        archive_entry_set_size(op.e, 0);
        archive_entry_set_mtime(op.e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        tar_.write_header(op.e, p);
      }
      walk(sub.get(), rel);
      return;
    }
    if (S_ISSOCK(st.st_mode)) return;
    tar_.write_header(en.e, rel);  // devices and fifos: header only
  }

  TarWriter& tar_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

std::pair<std::string, int64_t> write_diff_layer(ContentStore& cs, const std::string& upper) {
  auto w = cs.writer("layer of " + upper);
  {
    TarWriter tar([&](const void* d, size_t n) { w.write(d, n); });
    UniqueFd root(::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("open " + upper);
    DiffWriter dw(tar);
    dw.walk(root.get(), "");
    tar.close();
  }
  std::string d = w.finish();
  int64_t size = w.size();
  w.commit();
  return {d, size};
}

ImageRecord commit_snapshot(ImageStore& store, const std::string& key, const CommitOptions& opts) {
  OverlaySnapshotter snaps(store);
  auto rec = store.snapshot(key);
  if (!rec) throw Error("container " + key + " has no rootfs snapshot", ErrorKind::NotFound);
  std::vector<std::string> refs;
  for (auto& r : opts.refs) {
    auto ref = parse_reference(r);
    if (!ref.digest.empty()) throw Error("cannot commit to a digest reference \"" + r + "\"", ErrorKind::InvalidArgument);
    refs.push_back(ref.str());
  }
  auto lock = store.shared_lock();
  json cfg;
  oci::Manifest m;
  m.media_type = oci::media::kOciManifest;
  if (!rec->image_id.empty()) {
    auto parent = store.resolve(rec->image_id);
    cfg = store.config(parent).raw;
    auto pm = store.manifest(parent);
    m.layers = pm.layers;
    for (auto& l : m.layers) {  // one manifest, one vocabulary
      if (l.media_type == oci::media::kDockerLayer) l.media_type = oci::media::kOciLayer;
      if (l.media_type == oci::media::kDockerLayerGzip) l.media_type = oci::media::kOciLayerGzip;
    }
  } else {
    cfg = {{"architecture", "amd64"}, {"os", "linux"}, {"config", json::object()},
           {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
  }
  auto [digest, size] = write_diff_layer(store.content(), snaps.upper(key));
  m.layers.push_back({oci::media::kOciLayer, digest, size, {}, {}});
  std::string now = now_rfc3339();
  cfg["created"] = now;
  cfg["rootfs"]["diff_ids"].push_back(digest);
  if (!cfg.contains("history") || !cfg["history"].is_array()) cfg["history"] = json::array();
  json h = {{"created", now}, {"created_by", opts.created_by.empty() ? "berth commit " + key : opts.created_by}};
  if (!opts.author.empty()) h["author"] = opts.author, cfg["author"] = opts.author;
  if (!opts.comment.empty()) h["comment"] = opts.comment;
  cfg["history"].push_back(h);
  if (!cfg.contains("config") || !cfg["config"].is_object()) cfg["config"] = json::object();
  for (auto& [k, v] : opts.config_changes.items()) cfg["config"][k] = v;
  cfg.erase("container");
  cfg.erase("container_config");
  std::string cfg_bytes = json_text(cfg);
  std::string cfg_digest = store.content().put(cfg_bytes);
  m.config = {oci::media::kOciConfig, cfg_digest, static_cast<int64_t>(cfg_bytes.size()), {}, {}};
  std::string mdigest = store.content().put(oci::serialize(m));
  return store.add_image(mdigest, refs);
}

}  // namespace berth::image
