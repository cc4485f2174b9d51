// berth pull: registry -> content store -> layers -> image record.
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "image/reference.hpp"
#include "registry/blob_download.hpp"
#include "registry/distribution_client.hpp"
#include "registry/kept_index.hpp"
#include "registry/platform.hpp"
#include "registry/remote_ops.hpp"

namespace berth::registry {

using image::ProgressEvent;

namespace {

std::string short_hex(const std::string& digest) { return digest_hex(digest).substr(0, 12); }

// Runs f(i) for i in [0, n) on up to `parallel` threads; the first error
// stops the others from taking more work and is rethrown.
template <class F>
void for_each_parallel(size_t n, int parallel, F f) {
  std::atomic<size_t> next{0};
  std::exception_ptr first;
  std::mutex mu;
  auto work = [&] {
    for (size_t i; (i = next++) < n;) {
      {
        std::lock_guard lk(mu);
        if (first) return;
      }
      try {
        f(i);
      } catch (...) {
        std::lock_guard lk(mu);
        if (!first) first = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min<int>(parallel, n); ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
}

class Puller {
 public:
  Puller(image::ImageStore& store, DistributionClient& client, const image::PullRequest& req,
         const image::ProgressFn& progress)
      : store_(store), client_(client), req_(req), emit_raw_(progress) {}

  image::PulledImage pull(const image::Reference& ref) {
    image::PulledImage out;
    out.reference = ref.str();
    std::string what = ref.familiar();
    auto top = client_.get_manifest(ref.path, ref.digest.empty() ? ref.tag : ref.digest);
    out.digest = top.digest;
    auto manifest = top;
    if (oci::is_index_media_type(top.media_type)) {
      auto idx = oci::parse_index(top.bytes, "index of " + what);
      auto want = req_.platform.empty() ? host_platform() : parse_platform(req_.platform);
      const auto& d = select_platform(idx, want, what);
      manifest = client_.get_manifest(ref.path, d.digest);
      if (!oci::is_manifest_media_type(manifest.media_type))
        fail(what + ": the index's entry for " + to_string(want) + " is not an image manifest (" +
                 manifest.media_type + ")",
             ErrorKind::Unsupported);
    }
    auto m = oci::parse_manifest(manifest.bytes, "manifest of " + what);
    for (auto& l : m.layers)
      if (!oci::is_layer_media_type(l.media_type))
        fail(what + ": layer " + l.digest + " has media type " + l.media_type + ", which berth cannot unpack",
             ErrorKind::Unsupported);
    emit({"", (ref.digest.empty() ? ref.tag : ref.digest) + ": Pulling from " + ref.path});

    // The store's shared lock keeps GC off the blobs until the image is recorded.
    auto lock = store_.shared_lock();
    auto& cs = store_.content();
    download_blob(client_, ref.path, m.config, store_.root(), cs, "image config of " + what, [](int64_t, int64_t) {});
    auto cfg = oci::parse_config(cs.read(m.config.digest), "image config of " + what);
    // A single-platform image: its config says which platform it is.
    if (!req_.platform.empty() && !oci::is_index_media_type(top.media_type)) {
      auto want = parse_platform(req_.platform);
      if (cfg.os() != want.os || cfg.architecture() != want.architecture)
        fail(what + " is " + cfg.os() + "/" + cfg.architecture() + " only, not " + to_string(want), ErrorKind::NotFound);
    }
    auto diffs = cfg.diff_ids();
    if (diffs.size() != m.layers.size())
      fail(what + ": manifest lists " + std::to_string(m.layers.size()) + " layers but its config has " +
               std::to_string(diffs.size()) + " diff_ids",
           ErrorKind::Corrupt);
    auto chains = oci::chain_ids(diffs);
    for (auto& l : m.layers) emit({short_hex(l.digest), cs.has(l.digest) ? "Already exists" : "Pulling fs layer"});
    std::atomic<bool> downloaded{false};
    for_each_parallel(m.layers.size(), req_.parallel, [&](size_t i) {
      const auto& l = m.layers[i];
      std::string id = short_hex(l.digest);
      bool fresh = download_blob(client_, ref.path, l, store_.root(), cs,
                                 "layer " + std::to_string(i + 1) + " of " + what,
                                 [&, last = int64_t{-1}](int64_t cur, int64_t total) mutable {
                                   // A line per 512 KiB is plenty for a bar.
                                   if (last >= 0 && cur - last < (512 << 10) && cur != total) return;
                                   last = cur;
                                   emit({id, "Downloading", cur, total});
                                 });
      if (!fresh) return;
      downloaded = true;
      emit({id, "Download complete"});
      emit({id, "Extracting"});
      // Each thread its own store (its own SQLite connection); the layer
      // unpacks while other layers still download.
      image::ImageStore own(store_.root());
      own.ensure_layer(chains[i], l.digest, diffs[i]);
      emit({id, "Pull complete"});
    });
    // The index too, and which reference it came by, so that `push
    // --all-platforms` can send it back once its platforms are here.
    if (oci::is_index_media_type(top.media_type)) {
      if (!cs.has(top.digest)) cs.put(top.bytes, top.digest);
      remember_index(store_.root(), ref.str(), top.digest);
    }
    // The manifest last: it is what says the image is whole.
    if (!cs.has(manifest.digest)) {
      cs.put(manifest.bytes, manifest.digest);
      downloaded = true;
    }
    // "Downloaded newer image" also when only the tag moves (docker's words).
    std::optional<image::ImageRecord> before;
    try {
      before = store_.find(ref.str());
    } catch (const Error&) {
    }
    auto rec = store_.add_image(manifest.digest, {ref.str()});
    downloaded = downloaded || !before || before->id != rec.id;
    out.id = rec.id;
    out.downloaded = downloaded;
    emit({"", "Digest: " + top.digest});
    emit({"", std::string(downloaded ? "Status: Downloaded newer image for " : "Status: Image is up to date for ") +
                  ref.familiar()});
    return out;
  }

 private:
  void emit(const ProgressEvent& e) {
    std::lock_guard lk(mu_);
    emit_raw_(e);
  }
  image::ImageStore& store_;
  DistributionClient& client_;
  const image::PullRequest& req_;
  const image::ProgressFn& emit_raw_;
  std::mutex mu_;
};

// Where to pull from: docker.io's mirrors first (as docker does), then the
// registry itself. A mirror that fails is skipped.
template <class F>
auto with_endpoints(const std::string& host, const ClientOptions& opts, const RegistryConfig& cfg, F f) {
  if (host == "docker.io") {
    for (auto& mirror : cfg.mirrors()) {
      try {
        DistributionClient c(host, opts, mirror);
        c.ping();
        return f(c);
      } catch (const Error&) {
        // next mirror, then the registry
      }
    }
  }
  DistributionClient c(host, opts);
  c.ping();
  return f(c);
}

}  // namespace

image::PullResult pull(image::ImageStore& store, const image::PullRequest& req, const image::ProgressFn& progress) {
  auto ref = image::parse_reference(req.reference, !req.all_tags);
  if (req.all_tags && (!ref.tag.empty() || !ref.digest.empty()))
    fail("--all-tags takes a repository name without a tag or digest, not \"" + req.reference + "\"");
  if (!req.platform.empty()) parse_platform(req.platform);  // refuse a bad one before any network
  RegistryConfig cfg(req.access.config_dir.empty() ? default_config_dir() : req.access.config_dir);
  ClientOptions opts;
  opts.cert_dir = req.access.cert_dir;
  opts.token_dir = req.access.token_dir;
  opts.config = &cfg;
  // Stale ingest files of killed loads go first (never a live writer's).
  store.content().remove_stale_ingest();
  return with_endpoints(ref.domain, opts, cfg, [&](DistributionClient& c) {
    image::PullResult res;
    Puller p(store, c, req, progress);
    if (!req.all_tags) {
      res.images.push_back(p.pull(ref));
      return res;
    }
    for (auto& tag : c.list_tags(ref.path)) {
      auto r = ref;
      r.tag = tag;
      res.images.push_back(p.pull(r));
    }
    return res;
  });
}

}  // namespace berth::registry
