#include "image/image_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "image/layer_unpack.hpp"
#include "image/reference.hpp"

namespace berth::image {

using nlohmann::json;

FileLock::FileLock(const std::string& path, bool exclusive) {
  fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd_) throw_errno("open lock " + path);
  while (::flock(fd_.get(), exclusive ? LOCK_EX : LOCK_SH) != 0)
    if (errno != EINTR) throw_errno("lock " + path);
}

static Database open_db(const std::string& root) {
  fs::mkdir_p(root, 0711);
  Database db(root + "/berth.db");
  db.exec(
      "CREATE TABLE IF NOT EXISTS images ("
      "  id TEXT PRIMARY KEY, manifest_digest TEXT NOT NULL, created TEXT NOT NULL DEFAULT '',"
      "  size INTEGER NOT NULL DEFAULT 0, added INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE IF NOT EXISTS image_tags ("
      "  ref TEXT PRIMARY KEY, image_id TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS image_tags_by_image ON image_tags(image_id);"
      "CREATE TABLE IF NOT EXISTS image_snapshots ("
      "  key TEXT PRIMARY KEY, image_id TEXT NOT NULL DEFAULT '', chain_ids TEXT NOT NULL,"
      "  created INTEGER NOT NULL DEFAULT 0);"
      // Compressed layer blobs once checked to decompress to diff_id: a
      // fact about the blob's bytes, which its digest fixes, so it holds
      // for as long as the digest does.
      "CREATE TABLE IF NOT EXISTS layer_blobs ("
      "  blob TEXT PRIMARY KEY, diff_id TEXT NOT NULL);");
  return db;
}

ImageStore::ImageStore(std::string root)
    : root_(std::move(root)), content_((fs::mkdir_p(root_, 0711), root_)), db_(open_db(root_)) {
  fs::mkdir_p(root_ + "/layers", 0700);
}

std::string ImageStore::layer_dir(const std::string& chain_id) const {
  return root_ + "/layers/" + digest_hex(chain_id) + "/diff";
}

// A layer unpacked into layers/.tmp-*, holding its per-layer lock until it
// is published (renamed into place) or dropped (deleted).
struct ImageStore::PreparedLayer {
  FileLock lock;
  std::string tmp, dir;
  int64_t size = 0;
  bool published = false;
  PreparedLayer(FileLock l, std::string t, std::string d) : lock(std::move(l)), tmp(std::move(t)), dir(std::move(d)) {}
  PreparedLayer(PreparedLayer&& o) noexcept
      : lock(std::move(o.lock)), tmp(std::move(o.tmp)), dir(std::move(o.dir)), size(o.size), published(o.published) {
    o.published = true;
  }
  ~PreparedLayer() {
    if (!published && !tmp.empty()) try {
        fs::remove_all(tmp);
      } catch (...) {
      }
  }
};

static int64_t read_size(const std::string& dir) {
  try {
    return std::stoll(fs::read_file(dir + "/size"));
  } catch (...) {
    return 0;
  }
}

static Error diff_id_mismatch(const std::string& blob_digest, const std::string& got, const std::string& diff_id) {
  return Error("layer " + blob_digest + " is corrupt: its content hashes to " + got + ", the image config says " +
                   diff_id,
               ErrorKind::Corrupt);
}

void ImageStore::remember_diff_id(const std::string& blob_digest, const std::string& diff_id) {
  if (blob_digest == diff_id) return;
  db_.prepare("INSERT INTO layer_blobs(blob, diff_id) VALUES(?1, ?2) ON CONFLICT(blob) DO NOTHING")
      .bind(1, blob_digest)
      .bind(2, diff_id)
      .run();
}

// The layer is unpacked already, but from some blob, maybe not this one:
// this blob must still decompress to the diff-id the config names, or an
// image would point at content it does not have (and `save` export it).
void ImageStore::check_diff_id(const std::string& blob_digest, const std::string& diff_id) {
  // An uncompressed blob's address, verified when it was stored, is its diff-id.
  if (blob_digest == diff_id) return;
  // Checked before (by an unpack or by this): no need to decompress it again
  // on every load of the image and every commit on top of it.
  auto known = db_.prepare("SELECT diff_id FROM layer_blobs WHERE blob = ?1");
  known.bind(1, blob_digest);
  if (known.step() && known.text(0) == diff_id) return;
  std::string got;
  try {
    UniqueFd fd = content_.open(blob_digest);
    got = layer_diff_id(fd.get());
  } catch (Error& e) {
    throw e.wrap("check layer " + blob_digest);
  }
  if (got != diff_id) throw diff_id_mismatch(blob_digest, got, diff_id);
  remember_diff_id(blob_digest, diff_id);
}

std::optional<ImageStore::PreparedLayer> ImageStore::prepare_layer(const std::string& chain_id,
                                                                   const std::string& blob_digest,
                                                                   const std::string& diff_id, int64_t* size) {
  std::string hex = digest_hex(chain_id);
  std::string dir = root_ + "/layers/" + hex;
  if (fs::is_dir(dir + "/diff")) {
    check_diff_id(blob_digest, diff_id);
    *size = read_size(dir);
    return std::nullopt;
  }
  FileLock lock(root_ + "/layers/." + hex + ".lock", true);
  if (fs::is_dir(dir + "/diff")) {  // another process finished it while we waited
    check_diff_id(blob_digest, diff_id);
    *size = read_size(dir);
    return std::nullopt;
  }
  std::string tmp = root_ + "/layers/.tmp-" + hex.substr(0, 12) + "-XXXXXX";
  if (!::mkdtemp(tmp.data())) throw_errno("create temporary layer dir in " + root_ + "/layers");
  PreparedLayer p(std::move(lock), tmp, dir);
  fs::mkdir_p(tmp + "/diff", 0755);
  UnpackResult r;
  try {
    UniqueFd fd = content_.open(blob_digest);
    r = unpack_layer(fd.get(), tmp + "/diff");
  } catch (Error& e) {
    throw e.wrap("unpack layer " + blob_digest);
  }
  if (r.diff_id != diff_id) throw diff_id_mismatch(blob_digest, r.diff_id, diff_id);
  remember_diff_id(blob_digest, diff_id);
  fs::write_file(tmp + "/size", std::to_string(r.content_size));
  fs::write_file(tmp + "/diff-id", diff_id);
  fs::write_file(tmp + "/tar-size", std::to_string(r.tar_size));
  p.size = *size = r.content_size;
  return p;
}

// One syncfs for all new layers (not one per layer: on a busy disk each
// syncfs waits for everybody's dirty data), then the renames that make
// them visible.
void ImageStore::publish_layers(std::vector<PreparedLayer>& layers) {
  if (layers.empty()) return;
  {
    UniqueFd d(::open((root_ + "/layers").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d && ::syncfs(d.get()) != 0) throw_errno("sync layers in " + root_ + "/layers");
  }
  for (auto& p : layers) {
    if (::rename(p.tmp.c_str(), p.dir.c_str()) != 0) throw_errno("move layer into place at " + p.dir);
    p.published = true;
  }
  fs::fsync_dir(root_ + "/layers");
}

LayerInfo ImageStore::ensure_layer(const std::string& chain_id, const std::string& blob_digest,
                                   const std::string& diff_id) {
  LayerInfo info{chain_id, diff_id, layer_dir(chain_id), 0};
  std::vector<PreparedLayer> v;
  if (auto p = prepare_layer(chain_id, blob_digest, diff_id, &info.size)) v.push_back(std::move(*p));
  publish_layers(v);
  return info;
}

oci::Manifest ImageStore::manifest(const ImageRecord& img) {
  return oci::parse_manifest(content_.read(img.manifest_digest), "manifest " + img.manifest_digest);
}
std::string ImageStore::manifest_bytes(const ImageRecord& img) { return content_.read(img.manifest_digest); }
oci::ImageConfig ImageStore::config(const ImageRecord& img) {
  return oci::parse_config(content_.read(img.id), "image config " + img.id);
}
std::vector<std::string> ImageStore::chain_ids(const ImageRecord& img) { return oci::chain_ids(config(img).diff_ids()); }

ImageRecord ImageStore::add_image(const std::string& manifest_digest, const std::vector<std::string>& refs) {
  auto m = oci::parse_manifest(content_.read(manifest_digest), "manifest " + manifest_digest);
  auto cfg = oci::parse_config(content_.read(m.config.digest), "image config " + m.config.digest);
  auto diffs = cfg.diff_ids();
  if (diffs.size() != m.layers.size())
    throw Error("manifest " + manifest_digest + " lists " + std::to_string(m.layers.size()) +
                    " layers but its config has " + std::to_string(diffs.size()) + " diff_ids",
                ErrorKind::InvalidArgument);
  auto chains = oci::chain_ids(diffs);
  int64_t size = 0;
  std::vector<PreparedLayer> fresh;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    if (!oci::is_layer_media_type(m.layers[i].media_type) && !m.layers[i].media_type.empty())
      throw Error("layer " + m.layers[i].digest + " has unsupported media type " + m.layers[i].media_type,
                  ErrorKind::Unsupported);
    int64_t sz = 0;
    if (auto p = prepare_layer(chains[i], m.layers[i].digest, diffs[i], &sz)) fresh.push_back(std::move(*p));
    size += sz;
  }
  publish_layers(fresh);
  ImageRecord rec{m.config.digest, manifest_digest, cfg.created(), size, {}};
  Transaction tx(db_);
  db_.prepare(
         "INSERT INTO images(id, manifest_digest, created, size, added) VALUES(?1, ?2, ?3, ?4, ?5) "
         "ON CONFLICT(id) DO UPDATE SET manifest_digest=excluded.manifest_digest, size=excluded.size")
      .bind(1, rec.id)
      .bind(2, manifest_digest)
      .bind(3, rec.created)
      .bind(4, size)
      .bind(5, static_cast<int64_t>(::time(nullptr)))
      .run();
  std::set<std::string> orphan_candidates;
  for (auto& r : refs) {
    auto st = db_.prepare("SELECT image_id FROM image_tags WHERE ref = ?1");
    st.bind(1, r);
    if (st.step() && st.text(0) != rec.id) orphan_candidates.insert(st.text(0));
    db_.prepare("INSERT INTO image_tags(ref, image_id) VALUES(?1, ?2) ON CONFLICT(ref) DO UPDATE SET image_id=excluded.image_id")
        .bind(1, r)
        .bind(2, rec.id)
        .run();
  }
  tx.commit();
  (void)orphan_candidates;  // the previous holder of a moved tag stays as a dangling image, as in Docker
  return *load_record(rec.id);
}

std::optional<ImageRecord> ImageStore::load_record(const std::string& id) {
  auto st = db_.prepare("SELECT id, manifest_digest, created, size FROM images WHERE id = ?1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  ImageRecord r{st.text(0), st.text(1), st.text(2), st.integer(3), {}};
  auto t = db_.prepare("SELECT ref FROM image_tags WHERE image_id = ?1 ORDER BY ref");
  t.bind(1, id);
  while (t.step()) r.tags.push_back(t.text(0));
  return r;
}

std::optional<ImageRecord> ImageStore::find(const std::string& name) {
  if (name.empty()) return std::nullopt;
  // Full or short image ID.
  std::string hex = name.starts_with("sha256:") ? name.substr(7) : name;
  bool hexish = !hex.empty() && hex.size() <= 64 &&
                hex.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (hexish && (name.starts_with("sha256:") || hex.size() >= 3)) {
    auto st = db_.prepare("SELECT id FROM images WHERE id >= ?1 AND id < ?2");
    st.bind(1, "sha256:" + hex).bind(2, "sha256:" + hex + "g");
    std::vector<std::string> ids;
    while (st.step()) ids.push_back(st.text(0));
    if (ids.size() > 1)
      throw Error("image ID prefix \"" + name + "\" is ambiguous (" + std::to_string(ids.size()) + " images)",
                  ErrorKind::InvalidArgument);
    if (ids.size() == 1) return load_record(ids[0]);
    if (name.starts_with("sha256:")) return std::nullopt;
  }
  Reference ref;
  try {
    ref = parse_reference(name);
  } catch (const Error&) {
    if (hexish) return std::nullopt;
    throw;
  }
  if (!ref.digest.empty()) {
    // name@digest: the manifest digest of an image whose tags include that name
    // (or any image with that manifest when the name is unknown).
    auto st = db_.prepare("SELECT id FROM images WHERE manifest_digest = ?1");
    st.bind(1, ref.digest);
    if (st.step()) return load_record(st.text(0));
    // Pulled by the digest of an index: the pull recorded name@digest.
    auto named = db_.prepare("SELECT image_id FROM image_tags WHERE ref = ?1");
    named.bind(1, ref.str());
    if (named.step()) return load_record(named.text(0));
    return std::nullopt;
  }
  auto st = db_.prepare("SELECT image_id FROM image_tags WHERE ref = ?1");
  st.bind(1, ref.str());
  if (st.step()) return load_record(st.text(0));
  return std::nullopt;
}

ImageRecord ImageStore::resolve(const std::string& name) {
  auto r = find(name);
  if (!r) throw Error("image \"" + name + "\" not found", ErrorKind::NotFound);
  return *r;
}

std::vector<ImageRecord> ImageStore::list() {
  std::vector<std::string> ids;
  auto st = db_.prepare("SELECT id FROM images ORDER BY added DESC, id");
  while (st.step()) ids.push_back(st.text(0));
  std::vector<ImageRecord> out;
  for (auto& id : ids)
    if (auto r = load_record(id)) out.push_back(*r);
  return out;
}

void ImageStore::tag(const std::string& source, const std::string& target) {
  auto lock = shared_lock();
  ImageRecord img = resolve(source);
  Reference t = parse_reference(target);
  if (!t.digest.empty()) throw Error("cannot tag with a digest reference \"" + target + "\"", ErrorKind::InvalidArgument);
  db_.prepare("INSERT INTO image_tags(ref, image_id) VALUES(?1, ?2) ON CONFLICT(ref) DO UPDATE SET image_id=excluded.image_id")
      .bind(1, t.str())
      .bind(2, img.id)
      .run();
}

std::vector<std::string> ImageStore::users(const std::string& image_id) {
  std::vector<std::string> out;
  auto st = db_.prepare("SELECT key FROM image_snapshots WHERE image_id = ?1 ORDER BY key");
  st.bind(1, image_id);
  while (st.step()) out.push_back(st.text(0));
  return out;
}

bool ImageStore::forget_if_unused(const std::string& id) {
  Transaction tx(db_);
  auto st = db_.prepare(
      "DELETE FROM images WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM image_tags WHERE image_id = ?1) "
      "AND NOT EXISTS (SELECT 1 FROM image_snapshots WHERE image_id = ?1)");
  st.bind(1, id).run();
  bool dropped = db_.changes() > 0;
  tx.commit();
  return dropped;
}

void ImageStore::delete_image_row(const std::string& id) {
  db_.prepare("DELETE FROM image_tags WHERE image_id = ?1").bind(1, id).run();
  db_.prepare("DELETE FROM images WHERE id = ?1").bind(1, id).run();
}

static std::string familiar(const std::string& ref) {
  try {
    return parse_reference(ref).familiar();
  } catch (...) {
    return ref;
  }
}

RemoveReport ImageStore::remove(const std::string& name, bool force) {
  RemoveReport rep;
  {
    auto lock = shared_lock();
    ImageRecord img = resolve(name);
    auto used = users(img.id);
    bool by_tag = false;
    std::string tag_ref;
    try {
      auto ref = parse_reference(name);
      if (ref.digest.empty()) {
        for (auto& t : img.tags)
          if (t == ref.str()) by_tag = true, tag_ref = t;
      }
    } catch (const Error&) {
    }
    Transaction tx(db_);
    if (by_tag && img.tags.size() > 1) {
      // Other tags remain: only this name goes, the image stays (Docker's rule).
      db_.prepare("DELETE FROM image_tags WHERE ref = ?1").bind(1, tag_ref).run();
      rep.untagged.push_back(familiar(tag_ref));
      tx.commit();
      return rep;
    }
    if (!used.empty() && !force) {
      std::string list;
      for (auto& u : used) list += (list.empty() ? "" : ", ") + u;
      throw Error("image " + (img.tags.empty() ? short_id(img.id) : familiar(img.tags[0])) + " (" + short_id(img.id) +
                      ") is used by container " + list + "; remove the container first or use -f",
                  ErrorKind::FailedPrecondition);
    }
    if (!by_tag && img.tags.size() > 1 && !force)
      throw Error("image " + short_id(img.id) + " is referenced by " + std::to_string(img.tags.size()) +
                      " tags; untag them or use -f",
                  ErrorKind::FailedPrecondition);
    for (auto& t : img.tags) rep.untagged.push_back(familiar(t));
    delete_image_row(img.id);
    rep.deleted.push_back(img.id);
    tx.commit();
  }
  gc();
  return rep;
}

RemoveReport ImageStore::prune(bool all, GcReport* gc_report) {
  RemoveReport rep;
  {
    auto lock = shared_lock();
    Transaction tx(db_);
    for (auto& img : list()) {
      if (!users(img.id).empty()) continue;
      if (!all && !img.tags.empty()) continue;
      for (auto& t : img.tags) rep.untagged.push_back(familiar(t));
      delete_image_row(img.id);
      rep.deleted.push_back(img.id);
    }
    tx.commit();
  }
  GcReport g = gc();
  if (gc_report) *gc_report = g;
  return rep;
}

void ImageStore::record_snapshot(const std::string& key, const std::string& image_id,
                                 const std::vector<std::string>& chain_ids) {
  db_.prepare("INSERT INTO image_snapshots(key, image_id, chain_ids, created) VALUES(?1, ?2, ?3, ?4)")
      .bind(1, key)
      .bind(2, image_id)
      .bind(3, json(chain_ids).dump())
      .bind(4, static_cast<int64_t>(::time(nullptr)))
      .run();
}

static ImageStore::SnapshotRecord snap_from(Statement& st) {
  ImageStore::SnapshotRecord r{st.text(0), st.text(1), {}, st.integer(3)};
  for (auto& c : json::parse(st.text(2))) r.chain_ids.push_back(c.get<std::string>());
  return r;
}

std::optional<ImageStore::SnapshotRecord> ImageStore::snapshot(const std::string& key) {
  auto st = db_.prepare("SELECT key, image_id, chain_ids, created FROM image_snapshots WHERE key = ?1");
  st.bind(1, key);
  if (!st.step()) return std::nullopt;
  return snap_from(st);
}

std::vector<ImageStore::SnapshotRecord> ImageStore::snapshots() {
  std::vector<SnapshotRecord> out;
  auto st = db_.prepare("SELECT key, image_id, chain_ids, created FROM image_snapshots ORDER BY key");
  while (st.step()) out.push_back(snap_from(st));
  return out;
}

void ImageStore::forget_snapshot(const std::string& key) {
  db_.prepare("DELETE FROM image_snapshots WHERE key = ?1").bind(1, key).run();
}

// ---- presentation helpers shared by the CLI and the API server

std::string short_id(const std::string& digest) {
  std::string h = digest.starts_with("sha256:") ? digest.substr(7) : digest;
  return h.substr(0, 12);
}

std::string human_size(int64_t bytes) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000.0 && u < 5) v /= 1000.0, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", v, units[u]);
  return buf;
}

int64_t parse_rfc3339(const std::string& s) {
  // Fixed positions, digits only (not sscanf: `ps` parses two per row).
  auto num = [&](size_t at, size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  auto sep = [&](size_t at, char c) { return at < s.size() && s[at] == c; };
  int y, mo, d, h, mi, sec;
  if (!num(0, 4, y) || !sep(4, '-') || !num(5, 2, mo) || !sep(7, '-') || !num(8, 2, d) || !sep(10, 'T') ||
      !num(11, 2, h) || !sep(13, ':') || !num(14, 2, mi) || !sep(16, ':') || !num(17, 2, sec))
    return -1;
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t t = ::timegm(&tm);
  size_t p = 19;
  if (p < s.size() && s[p] == '.')
    while (++p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) {
    }
  int oh, om;
  if (p < s.size() && (s[p] == '+' || s[p] == '-') && num(p + 1, 2, oh) && sep(p + 3, ':') && num(p + 4, 2, om))
    t -= (s[p] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  return t;
}

int64_t parse_rfc3339_nanos(const std::string& s) {
  int64_t t = parse_rfc3339(s);
  if (t < 0) return -1;
  int64_t frac = 0;
  int digits = 0;
  if (s.size() > 19 && s[19] == '.')
    for (size_t p = 20; p < s.size() && std::isdigit(static_cast<unsigned char>(s[p])); ++p)
      if (digits < 9) {
        frac = frac * 10 + (s[p] - '0');
        ++digits;
      }
  for (; digits < 9; ++digits) frac *= 10;
  if (t >= INT64_MAX / 1000000000) return INT64_MAX;  // past 2262: no overflow
  return t * 1000000000 + frac;
}

std::string human_since(const std::string& rfc3339) {
  int64_t t = parse_rfc3339(rfc3339);
  if (t < 0 && rfc3339.empty()) return "N/A";
  int64_t s = ::time(nullptr) - t;
  auto plural = [](int64_t n, const char* unit) { return std::to_string(n) + " " + unit + (n == 1 ? "" : "s"); };
  std::string d;
  if (s < 1) d = "Less than a second";
  else if (s == 1) d = "1 second";
  else if (s < 60) d = plural(s, "second");
  else if (s / 60 == 1) d = "About a minute";
  else if (s < 3600) d = plural(s / 60, "minute");
  else if (s / 3600 == 1) d = "About an hour";
  else if (s < 48 * 3600) d = plural(s / 3600, "hour");
  else if (s < 7 * 24 * 3600 * 2) d = plural(s / 86400, "day");
  else if (s < 30 * 24 * 3600 * 3) d = plural(s / (7 * 86400), "week");
  else if (s < 365 * 24 * 3600 * 2) d = plural(s / (30 * 86400), "month");
  else d = plural(s / (365 * 86400), "year");
  return d + " ago";
}

}  // namespace berth::image
