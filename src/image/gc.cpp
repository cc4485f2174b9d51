// Garbage collection of blobs and layers no image or snapshot references.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "image/image_store.hpp"

namespace berth::image {

static int64_t du(const std::string& path) {
  int64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) total += st.st_size;
  }
  return total;
}

// Partial blobs of pulls that failed or were killed (docs/registries.md):
// kept for the next pull to resume, but not for ever. One no live pull
// holds (its flock) and untouched for a day goes.
static int64_t remove_stale_downloads(const std::string& dir) {
  constexpr time_t kKeepSeconds = 24 * 3600;
  int64_t freed = 0;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  while (auto* e = ::readdir(d)) {
    if (!is_sha256_hex(e->d_name)) continue;
    std::string p = dir + "/" + e->d_name;
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0 || st.st_mtime > ::time(nullptr) - kKeepSeconds) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a pull is writing it
    if (::unlink(p.c_str()) == 0) freed += st.st_size;
  }
  ::closedir(d);
  return freed;
}

GcReport ImageStore::gc() {
  auto lock = exclusive_lock();
  GcReport rep;
  std::set<std::string> blobs, chains;
  for (auto& img : list()) {
    blobs.insert(img.manifest_digest);
    blobs.insert(img.id);
    try {
      auto m = manifest(img);
      for (auto& l : m.layers) blobs.insert(l.digest);
      for (auto& c : chain_ids(img)) chains.insert(digest_hex(c));
    } catch (const Error& e) {
      // A damaged image keeps what it has; GC never deletes on a guess.
      log::warn(std::string("gc: image ") + img.id + ": " + e.what());
      return rep;
    }
  }
  for (auto& s : snapshots())
    for (auto& c : s.chain_ids) chains.insert(digest_hex(c));
  {
    // What was learnt about a blob goes with it (it would stay true, but
    // need not be kept for a blob the store no longer has).
    std::vector<std::string> forget;
    auto st = db_.prepare("SELECT blob FROM layer_blobs");
    while (st.step())
      if (!blobs.count(st.text(0))) forget.push_back(st.text(0));
    Transaction tx(db_);
    for (auto& b : forget) db_.prepare("DELETE FROM layer_blobs WHERE blob = ?1").bind(1, b).run();
    tx.commit();
  }
  for (auto& d : content_.list()) {
    if (blobs.count(d)) continue;
    try {
      rep.bytes += content_.size(d);
    } catch (...) {
    }
    content_.remove(d);
    ++rep.blobs;
  }
  // Loads and commits hold the lock shared, so none is mid-write now: .tmp-*
  // dirs are from crashed processes. Ingest files are swept by their locks
  // all the same, so a writer outside image.lock never loses its file.
  rep.bytes += content_.remove_stale_ingest();
  rep.bytes += remove_stale_downloads(root_ + "/content/download");
  std::vector<std::string> doomed;
  if (DIR* d = ::opendir((root_ + "/layers").c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (n.starts_with(".tmp-")) doomed.push_back(n);
      else if (is_sha256_hex(n) && !chains.count(n)) doomed.push_back(n), ++rep.layers;
      else if (n.starts_with(".") && n.ends_with(".lock") && !chains.count(n.substr(1, 64))) ::unlink((root_ + "/layers/" + n).c_str());
    }
    ::closedir(d);
  }
  for (auto& n : doomed) {
    std::string p = root_ + "/layers/" + n;
    rep.bytes += du(p);
    fs::remove_all(p);
  }
  return rep;
}

}  // namespace berth::image
