// What a reference names in its registry, without pulling: docker's
// GET /distribution/{name}/json (the manifest's descriptor and platforms).
#include "common/error.hpp"
#include "image/reference.hpp"
#include "oci/image_spec.hpp"
#include "registry/distribution_client.hpp"
#include "registry/platform.hpp"
#include "registry/remote_ops.hpp"

namespace berth::registry {

image::RemoteDescriptor inspect(const image::InspectRequest& req) {
  auto ref = image::parse_reference(req.reference, true);
  RegistryConfig cfg(req.access.config_dir.empty() ? default_config_dir() : req.access.config_dir);
  ClientOptions opts;
  opts.cert_dir = req.access.cert_dir;
  opts.token_dir = req.access.token_dir;
  opts.config = &cfg;
  DistributionClient c(ref.domain, opts);
  c.ping();
  std::string what = ref.familiar();
  auto top = c.get_manifest(ref.path, ref.digest.empty() ? ref.tag : ref.digest);
  image::RemoteDescriptor d;
  d.media_type = top.media_type;
  d.digest = top.digest;
  d.size = static_cast<int64_t>(top.bytes.size());
  if (oci::is_index_media_type(top.media_type)) {
    for (auto& m : oci::parse_index(top.bytes, "index of " + what).manifests)
      // Attestations are listed as unknown/unknown: not a platform.
      if (m.platform && m.platform->os != "unknown") d.platforms.push_back(to_string(*m.platform));
    return d;
  }
  // One image: its config (a few kB) says its platform, as dockerd reads it.
  auto m = oci::parse_manifest(top.bytes, "manifest of " + what);
  std::string config;
  c.get_blob(ref.path, m.config.digest, 0, [&](int64_t) { config.clear(); },
             [&](const char* p, size_t n) {
               if (config.size() + n > (4u << 20)) return false;
               config.append(p, n);
               return true;
             });
  auto cfgj = oci::parse_config(config, "image config of " + what);
  oci::Platform p{cfgj.os(), cfgj.architecture(), cfgj.raw.value("variant", "")};
  if (!p.os.empty()) d.platforms.push_back(to_string(p));
  return d;
}

}  // namespace berth::registry
