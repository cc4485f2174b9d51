// berth push: blobs the registry lacks, then the manifest.
#include <fcntl.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "image/reference.hpp"
#include "registry/distribution_client.hpp"
#include "registry/remote_ops.hpp"

namespace berth::registry {

using image::ProgressEvent;

namespace {

std::string short_hex(const std::string& digest) { return digest_hex(digest).substr(0, 12); }

// Repositories of the same registry that the store's images came from
// (or were pushed to) and that hold `digest`: candidates for a mount.
std::vector<std::string> mount_sources(image::ImageStore& store, const image::Reference& target,
                                       const std::string& digest) {
  std::vector<std::string> out;
  for (auto& img : store.list()) {
    std::vector<std::string> repos;
    for (auto& t : img.tags) {
      try {
        auto r = image::parse_reference(t);
        if (r.domain == target.domain && r.path != target.path) repos.push_back(r.path);
      } catch (const Error&) {
      }
    }
    if (repos.empty()) continue;
    try {
      auto m = store.manifest(img);
      bool has = m.config.digest == digest;
      for (auto& l : m.layers) has |= l.digest == digest;
      if (has)
        for (auto& r : repos)
          if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
    } catch (const Error&) {
    }
  }
  return out;
}

}  // namespace

image::PushResult push(image::ImageStore& store, const image::PushRequest& req, const image::ProgressFn& progress_raw) {
  auto ref = image::parse_reference(req.reference);
  if (!ref.digest.empty()) fail("push names a tag, not a digest: \"" + req.reference + "\"");
  auto lock = store.shared_lock();
  auto img = store.resolve(req.reference);
  std::string manifest_bytes = store.manifest_bytes(img);
  auto m = oci::parse_manifest(manifest_bytes, "manifest of " + ref.familiar());
  std::string media_type = m.media_type.empty() ? oci::media::kOciManifest : m.media_type;

  RegistryConfig cfg(req.access.config_dir.empty() ? default_config_dir() : req.access.config_dir);
  ClientOptions opts;
  opts.cert_dir = req.access.cert_dir;
  opts.token_dir = req.access.token_dir;
  opts.config = &cfg;
  DistributionClient client(ref.domain, opts);
  client.ping();

  std::mutex mu;
  auto progress = [&](const ProgressEvent& e) {
    std::lock_guard lk(mu);
    progress_raw(e);
  };
  progress({"", "The push refers to repository [" + ref.name() + "]"});
  std::vector<oci::Descriptor> blobs = m.layers;
  for (auto& l : blobs) progress({short_hex(l.digest), "Preparing"});
  blobs.push_back(m.config);  // last: layers first, as docker does
  auto& cs = store.content();
  std::atomic<size_t> next{0};
  std::exception_ptr first;
  auto work = [&] {
    for (size_t i; (i = next++) < blobs.size();) {
      {
        std::lock_guard lk(mu);
        if (first) return;
      }
      try {
        const auto& b = blobs[i];
        bool is_config = i + 1 == blobs.size();
        std::string id = short_hex(b.digest);
        auto say = [&](ProgressEvent e) {
          if (!is_config) progress(e);
        };
        if (client.has_blob(ref.path, b.digest)) {
          say({id, "Layer already exists"});
          continue;
        }
        bool mounted = false;
        for (auto& from : mount_sources(store, ref, b.digest))
          if (client.mount_blob(ref.path, b.digest, from)) {
            say({id, "Mounted from " + from});
            mounted = true;
            break;
          }
        if (mounted) continue;
        UniqueFd fd = cs.open(b.digest);
        int64_t size = cs.size(b.digest);
        client.upload_blob(ref.path, b.digest, fd.get(), size, req.chunk_size,
                           [&](int64_t done) { say({id, "Pushing", done, size}); });
        say({id, "Pushed"});
      } catch (...) {
        std::lock_guard lk(mu);
        if (!first) first = std::current_exception();
      }
    }
  };
  {
    // Blobs on up to `parallel` threads; the manifest only once every
    // thread has joined, so the registry never gets a manifest whose
    // blobs failed.
    std::vector<std::thread> threads;
    for (int t = 1; t < std::min<int>(req.parallel, blobs.size()); ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
  }
  if (first) std::rethrow_exception(first);
  std::string digest = client.put_manifest(ref.path, ref.tag, manifest_bytes, media_type);
  image::PushResult res;
  res.reference = ref.str();
  res.tag = ref.tag;
  res.digest = digest;
  res.size = static_cast<int64_t>(manifest_bytes.size());
  return res;
}

}  // namespace berth::registry
