#include "build/copy_step.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "build/url_fetch.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/in_root.hpp"
#include "engine/user_lookup.hpp"
#include "image/layer_commit.hpp"
#include "image/layer_unpack.hpp"
#include "image/overlay_snapshotter.hpp"

namespace berth::build {

namespace {

std::string random_hex() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

bool is_url(const std::string& s) { return s.starts_with("http://") || s.starts_with("https://"); }

// A snapshot of a state, mounted, removed on destruction.
struct MountedSnapshot {
  image::OverlaySnapshotter snaps;
  std::string key;
  MountedSnapshot(image::ImageStore& store, const std::string& image_id) : snaps(store), key("build-" + random_hex()) {
    auto specs = snaps.prepare(key, image_id);
    try {
      image::mount_all(specs, snaps.merged(key));
    } catch (...) {
      snaps.remove(key);
      throw;
    }
  }
  ~MountedSnapshot() {
    try {
      snaps.remove(key);
    } catch (...) {
    }
  }
};

CopyOptions copy_options(const CopyRequest& r, const std::string& rootfs) {
  CopyOptions o;
  if (!r.chown.empty()) {
    auto all_digits = [](const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; };
    auto colon = r.chown.find(':');
    std::string u = r.chown.substr(0, colon), g = colon == std::string::npos ? "" : r.chown.substr(colon + 1);
    if (all_digits(u) && (g.empty() || all_digits(g))) {
      // Below 2^32 - 1 ((uid_t)-1 means "unchanged" to chown): 4294967296
      // cast to uid_t was 0, root; more digits threw out_of_range.
      auto id = [&](const std::string& n) {
        if (n.size() > 10 || std::stoull(n) >= UINT32_MAX)
          throw Error("invalid chown parameter: " + r.chown + " (an id is below 4294967295)", ErrorKind::InvalidArgument);
        return static_cast<uint32_t>(std::stoull(n));
      };
      o.uid = id(u);
      o.gid = g.empty() ? *o.uid : id(g);
    } else {
      auto ru = engine::resolve_user(rootfs, r.chown);
      o.uid = ru.uid;
      // docker: a user without a group gets the same number as its GID
      o.gid = g.empty() ? ru.uid : ru.gid;
    }
  }
  if (!r.chmod.empty()) {
    if (r.chmod.size() > 4 || r.chmod.find_first_not_of("01234567") != std::string::npos)
      throw Error("invalid chmod parameter: " + r.chmod + " (an octal mode like 0755)", ErrorKind::InvalidArgument);
    o.mode = static_cast<mode_t>(std::stoul(r.chmod, nullptr, 8));
  }
  return o;
}

// ADD extracts local tar archives (plain, gzip or zstd).
bool is_archive(int fd) {
  unsigned char b[512];
  ssize_t n = ::pread(fd, b, sizeof b, 0);
  if (n >= 4 && ((b[0] == 0x1f && b[1] == 0x8b) || (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)))
    return true;
  return n == 512 && std::memcmp(b + 257, "ustar", 5) == 0;
}

}  // namespace

MountedImage::MountedImage(image::ImageStore& store, const image::ImageRecord& rec) {
  dir = store.root() + "/build-tmp/" + random_hex();
  fs::mkdir_p(dir, 0700);
  auto chains = store.chain_ids(rec);
  if (!chains.empty()) {
    try {
      image::mount_all(image::read_only_mounts(store, chains), dir);
      mounted = true;
    } catch (...) {
      ::rmdir(dir.c_str());
      throw;
    }
  }
}

MountedImage::~MountedImage() {
  try {
    if (mounted) image::unmount(dir);
    ::rmdir(dir.c_str());
  } catch (...) {
  }
}

SourceTree open_context(const std::string& dir) {
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("open the build context " + dir);
  std::string ignore;
  try {
    if (fs::exists(dir + "/.dockerignore")) ignore = fs::read_file(dir + "/.dockerignore");
  } catch (Error& e) {
    throw e.wrap("read .dockerignore");
  }
  return SourceTree(std::move(root), dockerfile::IgnoreRules::parse(ignore));
}

CopySources resolve_copy_sources(const CopyRequest& r, const SourceTree* context, const std::string& root) {
  CopySources s;
  Sha256 h;
  size_t count = r.inline_files.size();
  for (auto& [name, content] : r.inline_files) h.update("inline\0" + name + '\0' + content + '\0');
  for (auto& src : r.sources) {
    if (is_url(src)) {
      if (!r.add) throw Error("COPY cannot copy from a URL: " + src + " (use ADD)", ErrorKind::InvalidArgument);
      // Fetched at every build, as docker does: the content is the cache key.
      auto f = fetch_url(root, src, r.checksum);
      if (r.dest_is_dir && f.file_name.empty())
        throw Error("ADD " + src + ": cannot determine a file name from the URL; give a destination file",
                    ErrorKind::InvalidArgument);
      h.update("url\0" + src + '\0' + sha256_digest(f.body) + '\0');
      s.fetched.push_back({f.file_name, std::move(f.body), f.mtime});
      ++count;
      continue;
    }
    if (!r.checksum.empty()) throw Error("--checksum is only for URL sources", ErrorKind::InvalidArgument);
    if (!context) {
      h.update("path\0" + src + '\0');
      ++count;
      continue;
    }
    for (auto& rel : context->resolve(src)) {
      s.rels.push_back(rel);
      h.update("source\0");
      context->digest(rel, h);
      ++count;
    }
  }
  if (count > 1 && !r.dest_is_dir)
    throw Error(std::string("When using ") + (r.add ? "ADD" : "COPY") +
                    " with more than one source file, the destination must be a directory and end with a /",
                ErrorKind::InvalidArgument);
  s.digest = h.digest();
  return s;
}

oci::Descriptor copy_into_layer(image::ImageStore& store, const ImageState& parent, const CopyRequest& r,
                                const CopySources& src, const ImageState* from, const SourceTree* context,
                                std::vector<std::string>* made) {
  auto rec = materialize(store, parent, {}, made);
  MountedSnapshot snap(store, rec.id);
  std::string merged = snap.snaps.merged(snap.key);
  UniqueFd root(::open(merged.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("open " + merged);
  CopyOptions o = copy_options(r, merged);

  std::optional<MountedImage> from_mount;
  std::optional<SourceTree> from_tree;
  std::vector<std::string> rels = src.rels;
  const SourceTree* tree = context;
  if (from) {
    auto frec = materialize(store, *from, {}, made);
    from_mount.emplace(store, frec);
    UniqueFd fr(::open(from_mount->dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fr) throw_errno("open " + from_mount->dir);
    from_tree.emplace(std::move(fr), dockerfile::IgnoreRules{});
    tree = &*from_tree;
    for (auto& s : r.sources)
      for (auto& rel : from_tree->resolve(s)) rels.push_back(rel);
    if (rels.size() + r.inline_files.size() > 1 && !r.dest_is_dir)
      throw Error("When using COPY with more than one source file, the destination must be a directory and end with a /",
                  ErrorKind::InvalidArgument);
  }
  bool dest_dir = r.dest_is_dir || is_dir_in_root(root.get(), r.dest);
  for (auto& rel : rels) {
    if (r.add) {
      UniqueFd f = engine::open_in_root(tree->root(), rel, O_RDONLY);
      struct stat st;
      if (f && ::fstat(f.get(), &st) == 0 && S_ISREG(st.st_mode) && is_archive(f.get())) {
        UniqueFd d = make_dirs_in_root(root.get(), r.dest, o);
        try {
          image::unpack_layer(f.get(), "/proc/self/fd/" + std::to_string(d.get()));
        } catch (Error& e) {
          throw e.wrap("ADD: extract " + rel);
        }
        continue;
      }
    }
    copy_path(*tree, rel, root.get(), r.dest, dest_dir, o);
  }
  for (auto& [name, content] : r.inline_files) write_file_in_root(root.get(), r.dest, dest_dir, name, content, o);
  for (auto& f : src.fetched) write_file_in_root(root.get(), r.dest, dest_dir, f.name, f.body, o, 0600, f.mtime);
  root.reset();
  from_mount.reset();
  image::unmount(merged);
  auto [digest, size] = image::write_diff_layer(store.content(), snap.snaps.upper(snap.key));
  return {oci::media::kOciLayer, digest, size, {}, {}};
}

std::optional<oci::Descriptor> workdir_layer(image::ImageStore& store, const ImageState& parent, const std::string& dir,
                                             std::vector<std::string>* made) {
  auto rec = materialize(store, parent, {}, made);
  MountedSnapshot snap(store, rec.id);
  std::string merged = snap.snaps.merged(snap.key);
  {
    UniqueFd root(::open(merged.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("open " + merged);
    if (is_dir_in_root(root.get(), dir)) return std::nullopt;
    make_dirs_in_root(root.get(), dir, {});
  }
  image::unmount(merged);
  auto [digest, size] = image::write_diff_layer(store.content(), snap.snaps.upper(snap.key));
  return oci::Descriptor{oci::media::kOciLayer, digest, size, {}, {}};
}

}  // namespace berth::build
