// berth push: blobs the registry lacks, then the manifest.
#include <fcntl.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "image/reference.hpp"
#include "registry/distribution_client.hpp"
#include "registry/kept_index.hpp"
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

// One image's blobs the registry lacks (HEAD first, then a mount from a
// repository of the same registry, then an upload), on up to `parallel`
// threads; returns once every thread has joined, so a manifest is never
// put over blobs that failed.
void push_blobs(image::ImageStore& store, DistributionClient& client, const image::Reference& ref,
                const oci::Manifest& m, const image::PushRequest& req, const image::ProgressFn& progress) {
  std::mutex mu;
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
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min<int>(req.parallel, blobs.size()); ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
}

std::string media_type_of(const oci::Manifest& m) { return m.media_type.empty() ? oci::media::kOciManifest : m.media_type; }

// --all-platforms: each platform's image by its digest, then the index
// under the tag. Attestation entries (unknown/unknown, never pulled) are
// left out of the index, which then gets a digest of its own.
image::PushResult push_index(image::ImageStore& store, DistributionClient& client, const image::Reference& ref,
                             const image::PushRequest& req, const image::ProgressFn& progress) {
  auto idx_digest = remembered_index(store.root(), ref.str());
  if (!idx_digest || idx_digest->empty()) {
    // A name given by `berth tag`: the index that lists its image's manifest.
    if (auto img = store.find(ref.str()))
      for (auto& d : remembered_indexes(store.root())) {
        if (!store.content().has(d)) continue;
        try {
          for (auto& m : oci::parse_index(store.content().read(d), "index " + d).manifests)
            if (m.digest == img->manifest_digest) idx_digest = d;
        } catch (const Error&) {
        }
      }
  }
  if (!idx_digest || idx_digest->empty())
    fail(ref.familiar() + " was not pulled from a multi-platform index: nothing for --all-platforms to push",
         ErrorKind::NotFound);
  auto& cs = store.content();
  if (!cs.has(*idx_digest))
    fail("the index of " + ref.familiar() + " (" + *idx_digest + ") is no longer in the store; pull it again",
         ErrorKind::NotFound);
  std::string bytes = cs.read(*idx_digest);
  auto idx = oci::parse_index(bytes, "index of " + ref.familiar());
  auto raw = nlohmann::json::parse(bytes);
  nlohmann::json kept = nlohmann::json::array();
  struct Entry {
    image::ImageRecord img;
    std::string digest;
  };
  std::vector<Entry> entries;
  std::vector<std::string> missing;
  for (size_t i = 0; i < idx.manifests.size(); ++i) {
    const auto& d = idx.manifests[i];
    if (d.platform && d.platform->os == "unknown") continue;  // an attestation
    kept.push_back(raw["manifests"][i]);
    std::optional<image::ImageRecord> img;
    try {
      img = store.find(ref.name() + "@" + d.digest);
    } catch (const Error&) {
    }
    std::string plat = d.platform ? d.platform->os + "/" + d.platform->architecture +
                                        (d.platform->variant.empty() ? "" : "/" + d.platform->variant)
                                  : "?";
    if (!img || img->manifest_digest != d.digest) {
      missing.push_back(plat);
      continue;
    }
    entries.push_back({*img, d.digest});
  }
  if (!missing.empty()) {
    std::string list;
    for (auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    fail(ref.familiar() + " --all-platforms: the store lacks the image for " + list + " (berth pull --platform " +
             missing[0] + " " + ref.familiar() + ")",
         ErrorKind::NotFound);
  }
  progress({"", "The push refers to repository [" + ref.name() + "]"});
  for (auto& e : entries) {
    std::string mbytes = store.manifest_bytes(e.img);
    auto m = oci::parse_manifest(mbytes, "manifest " + e.digest);
    push_blobs(store, client, ref, m, req, progress);
    client.put_manifest(ref.path, e.digest, mbytes, media_type_of(m));
    progress({"", short_hex(e.digest) + ": manifest pushed"});
  }
  if (kept.size() != raw["manifests"].size()) {
    raw["manifests"] = kept;
    bytes = raw.dump();
  }
  std::string media_type = idx.media_type.empty() ? raw.value("mediaType", std::string(oci::media::kOciIndex)) : idx.media_type;
  std::string digest = client.put_manifest(ref.path, ref.tag, bytes, media_type);
  image::PushResult res;
  res.reference = ref.str();
  res.tag = ref.tag;
  res.digest = digest;
  res.size = static_cast<int64_t>(bytes.size());
  return res;
}

}  // namespace

image::PushResult push(image::ImageStore& store, const image::PushRequest& req, const image::ProgressFn& progress_raw) {
  auto ref = image::parse_reference(req.reference);
  if (!ref.digest.empty()) fail("push names a tag, not a digest: \"" + req.reference + "\"");
  auto lock = store.shared_lock();

  RegistryConfig cfg(req.access.config_dir.empty() ? default_config_dir() : req.access.config_dir);
  ClientOptions opts;
  opts.cert_dir = req.access.cert_dir;
  opts.token_dir = req.access.token_dir;
  opts.config = &cfg;

  std::mutex mu;
  auto progress = [&](const ProgressEvent& e) {
    std::lock_guard lk(mu);
    progress_raw(e);
  };
  if (req.all_platforms) {
    DistributionClient client(ref.domain, opts);
    client.ping();
    return push_index(store, client, ref, req, progress);
  }
  auto img = store.resolve(req.reference);
  std::string manifest_bytes = store.manifest_bytes(img);
  auto m = oci::parse_manifest(manifest_bytes, "manifest of " + ref.familiar());
  DistributionClient client(ref.domain, opts);
  client.ping();
  progress({"", "The push refers to repository [" + ref.name() + "]"});
  push_blobs(store, client, ref, m, req, progress);
  std::string digest = client.put_manifest(ref.path, ref.tag, manifest_bytes, media_type_of(m));
  image::PushResult res;
  res.reference = ref.str();
  res.tag = ref.tag;
  res.digest = digest;
  res.size = static_cast<int64_t>(manifest_bytes.size());
  return res;
}

}  // namespace berth::registry
