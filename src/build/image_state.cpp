#include "build/image_state.hpp"

#include "common/clock.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/json_text.hpp"
#include "engine/image_config_use.hpp"

namespace berth::build {

using nlohmann::json;

std::string ImageState::id() const {
  if (!image_id.empty()) return image_id;
  if (known_id.empty()) known_id = sha256_digest(json_text(config));
  return known_id;
}

void ImageState::add_history(const std::string& created_by, const std::optional<oci::Descriptor>& layer) {
  image_id.clear();
  known_id.clear();
  std::string now = now_rfc3339();
  json h = {{"created", now}, {"created_by", created_by}};
  if (layer) {
    layers.push_back(*layer);
    config["rootfs"]["diff_ids"].push_back(layer->digest);
  } else {
    h["empty_layer"] = true;
  }
  if (!config.contains("history") || !config["history"].is_array()) config["history"] = json::array();
  config["history"].push_back(h);
  config["created"] = now;
}

std::string ImageState::to_json() const {
  json l = json::array();
  for (auto& d : layers) l.push_back(oci::to_json(d));
  return json_text(json{{"config", config}, {"layers", l}, {"image_id", image_id}, {"id", id()}});
}

ImageState ImageState::from_json(const std::string& text) {
  auto j = json::parse(text);
  ImageState s;
  s.config = j.at("config");
  for (auto& l : j.at("layers")) s.layers.push_back(oci::descriptor_from_json(l));
  s.image_id = j.value("image_id", std::string());
  s.known_id = j.value("id", std::string());
  return s;
}

ImageState scratch_state() {
  ImageState s;
  s.config = {{"architecture", "amd64"},
              {"os", "linux"},
              {"config", {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}},
              {"history", json::array()}};
  return s;
}

ImageState state_of_image(image::ImageStore& store, const image::ImageRecord& rec) {
  ImageState s;
  s.image_id = rec.id;
  s.config = store.config(rec).raw;
  s.layers = store.manifest(rec).layers;
  for (auto& l : s.layers) {  // one manifest, one vocabulary (as commit)
    if (l.media_type == oci::media::kDockerLayer) l.media_type = oci::media::kOciLayer;
    if (l.media_type == oci::media::kDockerLayerGzip) l.media_type = oci::media::kOciLayerGzip;
  }
  if (!s.config.contains("config") || !s.config["config"].is_object()) s.config["config"] = json::object();
  // The base image's config is anyone's: a field of the wrong type (an
  // OnBuild trigger that is a number, say) is one error naming it, as at
  // `run`, not json's type_error from deep in a step.
  (void)engine::checked_image_config(s.config["config"]);
  s.config.erase("container");
  s.config.erase("container_config");
  return s;
}

static std::string put_once(image::ContentStore& cs, const std::string& bytes) {
  std::string d = sha256_digest(bytes);
  if (!cs.has(d)) cs.put(bytes, d);
  return d;
}

image::ImageRecord materialize(image::ImageStore& store, const ImageState& s, const std::vector<std::string>& refs,
                               std::vector<std::string>* made) {
  if (!s.image_id.empty()) {
    if (auto have = store.find(s.image_id)) {
      if (refs.empty()) return *have;
      for (auto& r : refs) store.tag(have->id, r);
      return *store.find(s.image_id);
    }
  }
  std::string cfg = json_text(s.config);
  oci::Manifest m;
  m.media_type = oci::media::kOciManifest;
  m.layers = s.layers;
  m.config = {oci::media::kOciConfig, put_once(store.content(), cfg), static_cast<int64_t>(cfg.size()), {}, {}};
  std::string mdigest = put_once(store.content(), oci::serialize(m));
  if (auto have = store.find(m.config.digest); have && have->manifest_digest == mdigest) {
    bool tagged = true;
    for (auto& r : refs)
      if (std::find(have->tags.begin(), have->tags.end(), r) == have->tags.end()) tagged = false;
    if (tagged) return *have;  // a rebuild with nothing changed writes nothing
  }
  bool existed = store.find(m.config.digest).has_value();
  auto rec = store.add_image(mdigest, refs);
  if (!existed && made) made->push_back(rec.id);
  return rec;
}

BuildCache::BuildCache(image::ImageStore& store) : store_(store) {
  store_.db().exec(
      "CREATE TABLE IF NOT EXISTS build_cache ("
      "  key TEXT PRIMARY KEY, state TEXT NOT NULL, created INTEGER NOT NULL DEFAULT 0);");
}

std::optional<ImageState> BuildCache::find(const std::string& key) {
  auto st = store_.db().prepare("SELECT state FROM build_cache WHERE key = ?1");
  st.bind(1, key);
  if (!st.step()) return std::nullopt;
  ImageState s;
  try {
    s = ImageState::from_json(st.text(0));
  } catch (const std::exception&) {
    return std::nullopt;  // an unreadable entry is a miss; put() replaces it
  }
  for (auto& l : s.layers)
    if (!store_.content().has(l.digest)) return std::nullopt;
  return s;
}

void BuildCache::put(const std::string& key, const ImageState& s) {
  store_.db()
      .prepare("INSERT INTO build_cache(key, state, created) VALUES(?1, ?2, strftime('%s','now')) "
               "ON CONFLICT(key) DO UPDATE SET state=excluded.state, created=excluded.created")
      .bind(1, key)
      .bind(2, s.to_json())
      .run();
}

std::vector<std::string> BuildCache::clear() {
  std::vector<std::string> keys;
  // One statement: an entry a running build puts meanwhile is either
  // dropped and listed, or kept.
  auto st = store_.db().prepare("DELETE FROM build_cache RETURNING key");
  while (st.step()) keys.push_back(st.text(0));
  return keys;
}

}  // namespace berth::build
