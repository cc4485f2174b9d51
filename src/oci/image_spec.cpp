#include "oci/image_spec.hpp"

#include "common/digest.hpp"
#include "common/error.hpp"

namespace berth::oci {

using nlohmann::json;

bool is_index_media_type(const std::string& mt) {
  return mt == media::kOciIndex || mt == media::kDockerManifestList;
}
bool is_manifest_media_type(const std::string& mt) {
  return mt == media::kOciManifest || mt == media::kDockerManifest;
}

bool is_layer_media_type(const std::string& mt) {
  return mt == media::kOciLayer || mt == media::kOciLayerGzip || mt == media::kOciLayerZstd ||
         mt == media::kDockerLayer || mt == media::kDockerLayerGzip ||
         mt == "application/vnd.oci.image.layer.nondistributable.v1.tar" ||
         mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
         mt == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}

static std::map<std::string, std::string> annotations_from(const json& j) {
  std::map<std::string, std::string> out;
  if (j.contains("annotations") && j["annotations"].is_object())
    for (auto& [k, v] : j["annotations"].items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

Descriptor descriptor_from_json(const json& j) {
  if (!j.is_object()) fail("descriptor is not an object");
  Descriptor d;
  d.media_type = j.value("mediaType", "");
  d.digest = j.value("digest", "");
  if (!is_sha256_digest(d.digest)) fail("descriptor has invalid digest \"" + d.digest + "\"");
  if (!j.contains("size") || !j["size"].is_number_integer() || j["size"].get<int64_t>() < 0)
    fail("descriptor " + d.digest + " has no valid size");
  d.size = j["size"].get<int64_t>();
  d.annotations = annotations_from(j);
  if (j.contains("platform") && j["platform"].is_object()) {
    auto& p = j["platform"];
    d.platform = Platform{p.value("os", ""), p.value("architecture", ""), p.value("variant", "")};
  }
  return d;
}

json to_json(const Descriptor& d) {
  json j = json::object();
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest;
  j["size"] = d.size;
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  if (d.platform) {
    json p = {{"architecture", d.platform->architecture}, {"os", d.platform->os}};
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    j["platform"] = p;
  }
  return j;
}

static json parse_json(const std::string& bytes, const std::string& what) {
  try {
    json j = json::parse(bytes);
    if (!j.is_object()) fail(what + ": not a JSON object");
    return j;
  } catch (const json::exception& e) {
    throw Error(what + ": invalid JSON: " + e.what(), ErrorKind::InvalidArgument);
  }
}

// schemaVersion, which must be the integer 2: anything else is refused
// naming it (nlohmann's get<int> of a number like 3e122 would be undefined
// behaviour; the image_archive fuzzer found that).
static int schema_version_of(const json& j) {
  auto v = j.find("schemaVersion");
  if (v == j.end()) fail("unsupported schemaVersion 0");
  if (!v->is_number_integer() || v->get<int64_t>() != 2) fail("unsupported schemaVersion " + v->dump().substr(0, 40));
  return 2;
}

Manifest parse_manifest(const std::string& bytes, const std::string& what) {
  json j = parse_json(bytes, what);
  try {
    Manifest m;
    m.schema_version = schema_version_of(j);
    m.media_type = j.value("mediaType", media::kOciManifest);
    if (!j.contains("config")) fail("no config descriptor");
    m.config = descriptor_from_json(j["config"]);
    if (!j.contains("layers") || !j["layers"].is_array()) fail("no layers array");
    for (auto& l : j["layers"]) m.layers.push_back(descriptor_from_json(l));
    m.annotations = annotations_from(j);
    return m;
  } catch (Error& e) {
    throw e.wrap(what);
  } catch (const json::exception& e) {
    throw Error(what + ": " + e.what(), ErrorKind::InvalidArgument);
  }
}

Index parse_index(const std::string& bytes, const std::string& what) {
  json j = parse_json(bytes, what);
  try {
    Index i;
    i.schema_version = schema_version_of(j);
    i.media_type = j.value("mediaType", media::kOciIndex);
    if (!j.contains("manifests") || !j["manifests"].is_array()) fail("no manifests array");
    for (auto& m : j["manifests"]) i.manifests.push_back(descriptor_from_json(m));
    i.annotations = annotations_from(j);
    return i;
  } catch (Error& e) {
    throw e.wrap(what);
  } catch (const json::exception& e) {
    throw Error(what + ": " + e.what(), ErrorKind::InvalidArgument);
  }
}

std::string serialize(const Manifest& m) {
  json j = json::object();
  j["schemaVersion"] = m.schema_version;
  j["mediaType"] = m.media_type;
  j["config"] = to_json(m.config);
  j["layers"] = json::array();
  for (auto& l : m.layers) j["layers"].push_back(to_json(l));
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j.dump();
}

std::string serialize(const Index& i) {
  json j = json::object();
  j["schemaVersion"] = i.schema_version;
  j["mediaType"] = i.media_type;
  j["manifests"] = json::array();
  for (auto& m : i.manifests) j["manifests"].push_back(to_json(m));
  if (!i.annotations.empty()) j["annotations"] = i.annotations;
  return j.dump();
}

std::vector<std::string> ImageConfig::diff_ids() const {
  std::vector<std::string> out;
  for (auto& d : raw.at("rootfs").at("diff_ids")) out.push_back(d.get<std::string>());
  return out;
}
std::string ImageConfig::os() const { return raw.value("os", ""); }
std::string ImageConfig::architecture() const { return raw.value("architecture", ""); }
std::string ImageConfig::created() const {
  return raw.contains("created") && raw["created"].is_string() ? raw["created"].get<std::string>() : "";
}

ImageConfig parse_config(const std::string& bytes, const std::string& what) {
  ImageConfig c{parse_json(bytes, what)};
  try {
    auto& r = c.raw.at("rootfs");
    if (!r.at("diff_ids").is_array()) fail("rootfs.diff_ids is not an array");
    for (auto& d : r["diff_ids"])
      if (!d.is_string() || !is_sha256_digest(d.get<std::string>()))
        fail("rootfs.diff_ids holds an invalid digest");
    // os() and architecture() read them as strings (found by tests/fuzz/oci_image).
    for (const char* key : {"os", "architecture", "created", "author"})
      if (c.raw.contains(key) && !c.raw[key].is_string()) fail(std::string(key) + " is not a string");
    // history is read by `history`, `image inspect` and the builder: typed
    // as docker's image.History (docker refuses another type at load).
    if (c.raw.contains("history") && !c.raw["history"].is_null()) {
      const json& h = c.raw["history"];
      if (!h.is_array()) fail("history is not an array");
      for (size_t i = 0; i < h.size(); ++i) {
        std::string at = "history[" + std::to_string(i) + "]";
        if (!h[i].is_object()) fail(at + " is not an object");
        for (const char* key : {"created", "created_by", "author", "comment"})
          if (h[i].contains(key) && !h[i][key].is_string())
            fail(at + "." + key + " is not a string");
        if (h[i].contains("empty_layer") && !h[i]["empty_layer"].is_boolean())
          fail(at + ".empty_layer is not a boolean");
      }
    }
  } catch (Error& e) {
    throw e.wrap(what);
  } catch (const json::exception& e) {
    throw Error(what + ": missing rootfs.diff_ids (" + e.what() + ")", ErrorKind::InvalidArgument);
  }
  return c;
}

std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (auto& d : diff_ids) {
    if (out.empty())
      out.push_back(d);
    else
      out.push_back(sha256_digest(out.back() + " " + d));
  }
  return out;
}

}  // namespace berth::oci
