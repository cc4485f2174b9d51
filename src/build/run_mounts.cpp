#include "build/run_mounts.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "build/copy_step.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "dockerfile/patterns.hpp"
#include "engine/in_root.hpp"

namespace berth::build {

using nlohmann::json;

namespace {

std::string random_name() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

bool parse_bool(const std::string& field, const std::string& v) {
  if (v.empty() || v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  throw Error("--mount " + field + ": not a boolean (true or false)", ErrorKind::InvalidArgument);
}

uint32_t parse_number(const std::string& field, const std::string& v, int base) {
  const char* digits = base == 8 ? "01234567" : "0123456789";
  if (v.empty() || v.size() > 10 || v.find_first_not_of(digits) != std::string::npos)
    throw Error("--mount " + field + ": not " + (base == 8 ? "an octal mode" : "a number"), ErrorKind::InvalidArgument);
  uint64_t n = std::stoull(v, nullptr, base);
  // uid=4294967296 cast to 0 was root.
  if (n >= UINT32_MAX) throw Error("--mount " + field + ": out of range (below 4294967295)", ErrorKind::InvalidArgument);
  return static_cast<uint32_t>(n);
}

// "64m", "1g", "4096": docker's RAMInBytes.
int64_t parse_size(const std::string& field, std::string v) {
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v.ends_with("b")) v.pop_back();
  int64_t mult = 1;
  if (!v.empty() && std::string("kmg").find(v.back()) != std::string::npos) {
    mult = v.back() == 'k' ? 1024 : v.back() == 'm' ? 1 << 20 : 1 << 30;
    v.pop_back();
  }
  return static_cast<int64_t>(parse_number(field, v, 10)) * mult;
}

// The real path of `rel` inside `base`, resolved as if `base` were the
// root (a symlink cannot lead out of it).
std::string real_path_in(const std::string& base, const std::string& rel, const std::string& what) {
  UniqueFd b(::open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!b) throw_errno("open " + base);
  UniqueFd f = engine::open_in_root(b.get(), rel.empty() ? "." : rel, O_PATH);
  if (!f) throw Error(what + ": " + rel + ": not found", ErrorKind::NotFound);
  char buf[4096];
  ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(f.get())).c_str(), buf, sizeof buf - 1);
  if (n < 0) throw_errno("readlink " + rel);
  return std::string(buf, static_cast<size_t>(n));
}

// A directory (or file) made with a mode and owner, only if missing.
void make_dir(const std::string& p, mode_t mode, uid_t uid, gid_t gid) {
  if (::mkdir(p.c_str(), mode) != 0) {
    if (errno == EEXIST) return;
    throw_errno("mkdir " + p);
  }
  if (::chmod(p.c_str(), mode) != 0) throw_errno("chmod " + p);  // past the umask
  if (::chown(p.c_str(), uid, gid) != 0) throw_errno("chown " + p);
}

void write_private_file(const std::string& p, const std::string& content, mode_t mode, uid_t uid, gid_t gid) {
  UniqueFd f(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!f) throw_errno("create " + p);
  for (size_t off = 0; off < content.size();) {
    ssize_t w = ::write(f.get(), content.data() + off, content.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw_errno("write " + p);
    off += static_cast<size_t>(w);
  }
  if (::fchown(f.get(), uid, gid) != 0) throw_errno("chown " + p);
  if (::fchmod(f.get(), mode) != 0) throw_errno("chmod " + p);
}

// What .dockerignore hides under the context's `ctx_rel` (a directory
// open as `dirfd`): paths relative to the bind's source, `src_rel`.
void collect_hidden(const SourceTree& t, int dirfd, const std::string& ctx_rel, const std::string& src_rel,
                    std::vector<std::string>& out) {
  int dup_fd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  DIR* d = dup_fd < 0 ? nullptr : ::fdopendir(dup_fd);
  if (!d) {
    if (dup_fd >= 0) ::close(dup_fd);
    throw_errno("read the context directory " + ctx_rel);
  }
  std::vector<std::pair<std::string, bool>> entries;
  while (auto* de = ::readdir(d)) {
    if (!std::strcmp(de->d_name, ".") || !std::strcmp(de->d_name, "..")) continue;
    struct stat st;
    bool dir = ::fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    entries.emplace_back(de->d_name, dir);
  }
  ::closedir(d);
  for (auto& [name, dir] : entries) {
    std::string crel = ctx_rel.empty() || ctx_rel == "." ? name : ctx_rel + "/" + name;
    std::string srel = src_rel.empty() ? name : src_rel + "/" + name;
    bool hide = t.excluded(crel);
    if (hide && !(dir && t.keeps_something_below(dirfd, name, crel))) {
      out.push_back(srel);
      continue;
    }
    if (!dir) continue;
    UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) throw_errno("open the context directory " + crel);
    collect_hidden(t, sub.get(), crel, srel, out);
  }
}

// A layer of overlay whiteouts (0/0 character devices) for `hidden`, the
// directories on the way copying the source's modes and owners.
void make_whiteouts(const std::string& layer, const std::string& src, const std::vector<std::string>& hidden) {
  for (auto& rel : hidden) {
    std::string dir_rel;
    for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
      dir_rel = rel.substr(0, slash);
      struct stat st;
      if (::stat((src + "/" + dir_rel).c_str(), &st) != 0) throw_errno("stat " + src + "/" + dir_rel);
      make_dir(layer + "/" + dir_rel, st.st_mode & 07777, st.st_uid, st.st_gid);
    }
    if (::mknod((layer + "/" + rel).c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0 && errno != EEXIST)
      throw_errno("make a whiteout for " + rel);
  }
}

}  // namespace

RunMount parse_run_mount(const std::string& value, const std::string& workdir) {
  RunMount m;
  bool rw_given = false, ro_given = false;
  size_t start = 0;
  for (;;) {
    size_t comma = value.find(',', start);
    std::string field = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma + 1;
    if (!field.empty()) {
      auto eq = field.find('=');
      std::string k = field.substr(0, eq), v = eq == std::string::npos ? "" : field.substr(eq + 1);
      std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
      auto need_value = [&] {
        if (eq == std::string::npos || v.empty())
          throw Error("--mount " + field + ": " + k + " needs a value", ErrorKind::InvalidArgument);
      };
      if (k == "type") {
        need_value();
        if (v == "ssh") throw Error("--mount type=ssh is not supported (no SSH agent forwarding)", ErrorKind::Unsupported);
        if (v != "bind" && v != "cache" && v != "tmpfs" && v != "secret")
          throw Error("--mount type=" + v + ": unknown mount type (bind, cache, tmpfs, secret)", ErrorKind::InvalidArgument);
        m.type = v;
      } else if (k == "target" || k == "dst" || k == "destination") {
        need_value();
        m.target = v;
      } else if (k == "source" || k == "src") {
        need_value();
        m.source = v;
      } else if (k == "from") {
        need_value();
        m.from = v;
      } else if (k == "id") {
        need_value();
        m.id = v;
      } else if (k == "sharing") {
        if (v != "shared" && v != "private" && v != "locked")
          throw Error("--mount sharing=" + v + ": unknown sharing mode (shared, private, locked)", ErrorKind::InvalidArgument);
        m.sharing = v;
      } else if (k == "readonly" || k == "ro") {
        m.read_only = parse_bool(field, v);
        ro_given = true;
      } else if (k == "readwrite" || k == "rw") {
        m.read_only = !parse_bool(field, v);
        rw_given = true;
      } else if (k == "required") {
        m.required = parse_bool(field, v);
      } else if (k == "mode") {
        m.mode = static_cast<mode_t>(parse_number(field, v, 8) & 07777);
      } else if (k == "uid") {
        m.uid = parse_number(field, v, 10);
      } else if (k == "gid") {
        m.gid = parse_number(field, v, 10);
      } else if (k == "size") {
        m.size = parse_size(field, v);
      } else {
        throw Error("--mount: unexpected key '" + k + "' in '" + field + "'", ErrorKind::InvalidArgument);
      }
    }
    if (comma == std::string::npos) break;
  }
  if (!rw_given && !ro_given) m.read_only = m.type == "bind" || m.type == "secret";
  if (m.type == "secret") {
    if (m.id.empty() && m.target.empty())
      throw Error("--mount type=secret needs an id (or a target)", ErrorKind::InvalidArgument);
    if (m.id.empty()) m.id = m.target.substr(m.target.rfind('/') + 1);
    if (m.target.empty()) m.target = "/run/secrets/" + m.id;
    if (!m.mode) m.mode = 0400;
  }
  if (m.target.empty()) throw Error("--mount type=" + m.type + ": a target is required", ErrorKind::InvalidArgument);
  if (!m.target.starts_with("/")) m.target = (workdir.empty() ? "/" : workdir) + "/" + m.target;
  m.target = dockerfile::clean_path(m.target);
  if (m.target == "/") throw Error("--mount " + value + ": the target cannot be /", ErrorKind::InvalidArgument);
  if (m.type == "cache") {
    if (m.id.empty()) m.id = m.target;
    if (!m.from.empty() || !m.source.empty())
      throw Error("--mount type=cache: from= and source= (a cache seeded from a stage) are not supported",
                  ErrorKind::Unsupported);
  }
  if (m.type != "bind" && !m.from.empty())
    throw Error("--mount type=" + m.type + ": from= is only for bind mounts", ErrorKind::InvalidArgument);
  if (m.type == "tmpfs" && !m.source.empty())
    throw Error("--mount type=tmpfs takes no source", ErrorKind::InvalidArgument);
  if (m.size != 0 && m.type != "tmpfs") throw Error("--mount size= is only for tmpfs", ErrorKind::InvalidArgument);
  return m;
}

std::string mount_key(const RunMount& m, const MountContext& mc) {
  json k = {{"type", m.type}, {"target", m.target}, {"source", m.source}, {"from", m.from}, {"id", m.id},
            {"sharing", m.sharing}, {"ro", m.read_only}, {"required", m.required},
            {"mode", m.mode ? static_cast<int>(*m.mode) : -1}, {"uid", m.uid ? static_cast<int64_t>(*m.uid) : -1},
            {"gid", m.gid ? static_cast<int64_t>(*m.gid) : -1}, {"size", m.size}};
  if (m.type == "bind") {
    if (m.from.empty()) {
      // The content, as COPY's key: a changed file re-runs the RUN.
      Sha256 h;
      for (auto& rel : mc.context->resolve(m.source.empty() ? "." : m.source)) {
        h.update("source\0");
        mc.context->digest(rel, h);
      }
      k["content"] = h.digest();
    } else {
      k["from_state"] = mc.state_of(m.from).id();
    }
  }
  return json_text(k);
}

struct PreparedMounts::Held {
  std::unique_ptr<MountedImage> image;
  std::string overlay;  // a scratch overlay's mount point
  UniqueFd lock;        // a cache's flock
};

PreparedMounts::PreparedMounts(const std::vector<RunMount>& mounts, const MountContext& mc) {
  std::string root = mc.store->root();
  tmp_dir_ = root + "/build-tmp/run-" + random_name();
  fs::mkdir_p(tmp_dir_, 0700);
  try {
    int n = 0;
    for (auto& m : mounts) {
      ++n;
      engine::MountRequest r;
      r.target = m.target;
      r.read_only = m.read_only;
      if (m.type == "bind") {
        std::string base = mc.context_dir;
        if (!m.from.empty()) {
          auto h = std::make_unique<Held>();
          h->image = std::make_unique<MountedImage>(*mc.store, materialize(*mc.store, mc.state_of(m.from), {}, mc.made));
          base = h->image->dir;
          held_.push_back(std::move(h));
        }
        std::string src = real_path_in(base, m.source, "--mount source");
        // A bind of the context shows what COPY would: .dockerignore's
        // exclusions are hidden by a layer of whiteouts over the source.
        std::string hide_layer;
        struct stat sst;
        if (m.from.empty() && mc.context && !mc.context->ignores_nothing() && ::stat(src.c_str(), &sst) == 0 &&
            S_ISDIR(sst.st_mode)) {
          std::string ctx_real = real_path_in(mc.context_dir, "", "the build context");
          std::string ctx_rel = src == ctx_real ? "" : src.substr(ctx_real.size() + 1);
          UniqueFd sfd(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
          if (!sfd) throw_errno("open " + src);
          std::vector<std::string> hidden;
          collect_hidden(*mc.context, sfd.get(), ctx_rel, "", hidden);
          if (!hidden.empty()) {
            hide_layer = tmp_dir_ + "/hide" + std::to_string(n);
            fs::mkdir_p(hide_layer, 0700);
            ::chmod(hide_layer.c_str(), sst.st_mode & 07777);
            make_whiteouts(hide_layer, src, hidden);
          }
        }
        if (!hide_layer.empty() && m.read_only) {
          if (src.find_first_of(",:\\") != std::string::npos)
            throw Error("--mount source " + m.source + ": a context path holding ',' or ':' with a .dockerignore is not supported",
                        ErrorKind::Unsupported);
          std::string merged = tmp_dir_ + "/view" + std::to_string(n);
          fs::mkdir_p(merged, 0755);
          std::string opts = "lowerdir=" + hide_layer + ":" + src;
          if (::mount("overlay", merged.c_str(), "overlay", MS_RDONLY, opts.c_str()) != 0)
            throw_errno("mount the context view of " + src);
          auto h = std::make_unique<Held>();
          h->overlay = merged;
          held_.push_back(std::move(h));
          src = merged;
        } else if (!m.read_only) {
          // Writes are the RUN's alone: a scratch overlay over the source.
          struct stat st;
          if (::stat(src.c_str(), &st) != 0) throw_errno("stat " + src);
          std::string d = tmp_dir_ + "/rw" + std::to_string(n);
          fs::mkdir_p(d, 0700);
          if (!S_ISDIR(st.st_mode)) {
            std::string copy = d + "/file";
            write_private_file(copy, fs::read_file(src), st.st_mode & 07777, st.st_uid, st.st_gid);
            src = copy;
          } else {
            if (src.find_first_of(",:\\") != std::string::npos)
              throw Error("--mount source " + m.source + ": a writable bind of a path holding ',' or ':' is not supported",
                          ErrorKind::Unsupported);
            for (const char* sub : {"/upper", "/work", "/merged"}) fs::mkdir_p(d + sub, 0755);
            std::string opts = "lowerdir=" + (hide_layer.empty() ? src : hide_layer + ":" + src) + ",upperdir=" + d +
                               "/upper,workdir=" + d + "/work";
            if (::mount("overlay", (d + "/merged").c_str(), "overlay", 0, opts.c_str()) != 0)
              throw_errno("mount a scratch overlay over " + src);
            auto h = std::make_unique<Held>();
            h->overlay = d + "/merged";
            held_.push_back(std::move(h));
            src = d + "/merged";
          }
        }
        r.type = "bind";
        r.source = src;
      } else if (m.type == "cache") {
        std::string dir = root + "/build-cache";
        fs::mkdir_p(dir, 0700);
        dir += "/" + sha256_hex(m.id).substr(0, 32);
        make_dir(dir, m.mode.value_or(0755), m.uid.value_or(0), m.gid.value_or(0));
        if (m.sharing != "shared") {
          auto h = std::make_unique<Held>();
          h->lock.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
          if (!h->lock) throw_errno("open " + dir);
          if (m.sharing == "locked") {
            while (::flock(h->lock.get(), LOCK_EX) != 0)
              if (errno != EINTR) throw_errno("lock the cache " + m.id);
          } else if (::flock(h->lock.get(), LOCK_EX | LOCK_NB) != 0) {
            // private: another build uses it; this RUN gets a fresh one.
            if (errno != EWOULDBLOCK) throw_errno("lock the cache " + m.id);
            h->lock.reset();
            dir = tmp_dir_ + "/cache" + std::to_string(n);
            make_dir(dir, m.mode.value_or(0755), m.uid.value_or(0), m.gid.value_or(0));
          }
          held_.push_back(std::move(h));
        }
        r.type = "bind";
        r.source = dir;
      } else if (m.type == "tmpfs") {
        r.type = "tmpfs";
        r.read_only = false;
        if (m.size > 0) r.options = "size=" + std::to_string(m.size);
      } else if (m.type == "secret") {
        const std::string* file = nullptr;
        if (mc.secrets)
          if (auto it = mc.secrets->find(m.id); it != mc.secrets->end()) file = &it->second;
        if (!file) {
          if (m.required)
            throw Error("secret " + m.id + " is required but was not given (berth build --secret id=" + m.id + ",src=FILE)",
                        ErrorKind::InvalidArgument);
          continue;  // BuildKit: an optional secret that is not there is not mounted
        }
        std::string content;
        try {
          content = fs::read_file(*file);
        } catch (Error& e) {
          throw e.wrap("secret " + m.id);
        }
        // A copy of the caller's, with the mode and owner the mount asks for.
        std::string copy = tmp_dir_ + "/secret" + std::to_string(n);
        write_private_file(copy, content, m.mode.value_or(0400), m.uid.value_or(0), m.gid.value_or(0));
        r.type = "bind";
        r.source = copy;
        r.read_only = true;
      }
      requests.push_back(r);
      targets.push_back(m.target);
    }
  } catch (...) {
    release();
    throw;
  }
}

void PreparedMounts::add_script(const std::string& target, const std::string& content) {
  std::string p = tmp_dir_ + "/script" + std::to_string(requests.size());
  write_private_file(p, content, 0755, 0, 0);
  requests.push_back({"bind", p, target, true, ""});
  targets.push_back(target);
}

PreparedMounts::~PreparedMounts() { release(); }

void PreparedMounts::release() {
  bool all_unmounted = true;
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
    if (!(*it)->overlay.empty() && ::umount2((*it)->overlay.c_str(), MNT_DETACH) != 0 && errno != EINVAL)
      all_unmounted = false;
    (*it)->overlay.clear();
  }
  held_.clear();
  // Never remove through a mount that stayed.
  if (all_unmounted && !tmp_dir_.empty()) {
    try {
      fs::remove_all(tmp_dir_);
    } catch (...) {
    }
  }
  tmp_dir_.clear();
}

void drop_mount_points(const std::string& upper, const std::vector<std::string>& targets) {
  auto opaque = [](const std::string& p) {
    char v[4];
    return ::lgetxattr(p.c_str(), "trusted.overlay.opaque", v, sizeof v) > 0;
  };
  auto empty_dir = [](const std::string& p) {
    DIR* d = ::opendir(p.c_str());
    if (!d) return false;
    bool empty = true;
    while (auto* de = ::readdir(d))
      if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) empty = false;
    ::closedir(d);
    return empty;
  };
  std::vector<std::string> sorted = targets;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
  for (auto& t : sorted) {
    std::string p = upper + t;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (S_ISREG(st.st_mode) && st.st_size == 0) ::unlink(p.c_str());
    else if (S_ISDIR(st.st_mode) && !opaque(p) && empty_dir(p)) ::rmdir(p.c_str());
    else continue;
    // Parents the runtime made for the mount point (0755, root's, empty).
    for (std::string rel = t.substr(0, t.rfind('/')); !rel.empty(); rel = rel.substr(0, rel.rfind('/'))) {
      std::string q = upper + rel;
      if (::lstat(q.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 07777) != 0755 || st.st_uid != 0 ||
          opaque(q) || !empty_dir(q) || ::rmdir(q.c_str()) != 0)
        break;
    }
  }
}

}  // namespace berth::build
