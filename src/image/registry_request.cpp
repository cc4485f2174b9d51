#include "image/registry_request.hpp"

#include <nlohmann/json.hpp>

namespace berth::image {

using nlohmann::json;

json to_json(const RegistryAccess& a) {
  return {{"cert_dir", a.cert_dir}, {"config_dir", a.config_dir}, {"token_dir", a.token_dir}};
}
void from_json(const json& j, RegistryAccess& a) {
  a.cert_dir = j.value("cert_dir", "");
  a.config_dir = j.value("config_dir", "");
  a.token_dir = j.value("token_dir", "");
}

json to_json(const PullRequest& r) {
  return {{"reference", r.reference}, {"all_tags", r.all_tags}, {"platform", r.platform},
          {"parallel", r.parallel}, {"access", to_json(r.access)}};
}
void from_json(const json& j, PullRequest& r) {
  r.reference = j.value("reference", "");
  r.all_tags = j.value("all_tags", false);
  r.platform = j.value("platform", "");
  r.parallel = j.value("parallel", 3);
  if (j.contains("access")) from_json(j["access"], r.access);
}

json to_json(const PullResult& r) {
  json imgs = json::array();
  for (auto& i : r.images)
    imgs.push_back({{"reference", i.reference}, {"id", i.id}, {"digest", i.digest}, {"downloaded", i.downloaded}});
  return {{"images", imgs}};
}
void from_json(const json& j, PullResult& r) {
  for (auto& i : j.value("images", json::array()))
    r.images.push_back({i.value("reference", ""), i.value("id", ""), i.value("digest", ""), i.value("downloaded", false)});
}

json to_json(const InspectRequest& r) { return {{"reference", r.reference}, {"access", to_json(r.access)}}; }
void from_json(const json& j, InspectRequest& r) {
  r.reference = j.value("reference", "");
  if (j.contains("access")) from_json(j["access"], r.access);
}

json to_json(const RemoteDescriptor& d) {
  return {{"media_type", d.media_type}, {"digest", d.digest}, {"size", d.size}, {"platforms", d.platforms}};
}
void from_json(const json& j, RemoteDescriptor& d) {
  d.media_type = j.value("media_type", "");
  d.digest = j.value("digest", "");
  d.size = j.value("size", int64_t{0});
  d.platforms = j.value("platforms", std::vector<std::string>{});
}

json to_json(const PushRequest& r) {
  return {{"reference", r.reference}, {"parallel", r.parallel}, {"chunk_size", r.chunk_size},
          {"all_platforms", r.all_platforms}, {"access", to_json(r.access)}};
}
void from_json(const json& j, PushRequest& r) {
  r.reference = j.value("reference", "");
  r.parallel = j.value("parallel", 3);
  r.chunk_size = j.value("chunk_size", int64_t{0});
  r.all_platforms = j.value("all_platforms", false);
  if (j.contains("access")) from_json(j["access"], r.access);
}

json to_json(const PushResult& r) {
  return {{"reference", r.reference}, {"tag", r.tag}, {"digest", r.digest}, {"size", r.size}};
}
void from_json(const json& j, PushResult& r) {
  r.reference = j.value("reference", "");
  r.tag = j.value("tag", "");
  r.digest = j.value("digest", "");
  r.size = j.value("size", int64_t{0});
}

json to_json(const LoginRequest& r) {
  return {{"registry", r.registry}, {"username", r.username}, {"password", r.password}, {"access", to_json(r.access)}};
}
void from_json(const json& j, LoginRequest& r) {
  r.registry = j.value("registry", "");
  r.username = j.value("username", "");
  r.password = j.value("password", "");
  if (j.contains("access")) from_json(j["access"], r.access);
}

json to_json(const LogoutRequest& r) { return {{"registry", r.registry}, {"access", to_json(r.access)}}; }
void from_json(const json& j, LogoutRequest& r) {
  r.registry = j.value("registry", "");
  if (j.contains("access")) from_json(j["access"], r.access);
}

json to_json(const FetchRequest& r) {
  return {{"url", r.url}, {"checksum", r.checksum}, {"dest", r.dest}, {"max_size", r.max_size}, {"access", to_json(r.access)}};
}
void from_json(const json& j, FetchRequest& r) {
  r.url = j.value("url", "");
  r.checksum = j.value("checksum", "");
  r.dest = j.value("dest", "");
  r.max_size = j.value("max_size", int64_t{1} << 30);
  if (j.contains("access")) from_json(j["access"], r.access);
}

json to_json(const FetchResult& r) {
  return {{"file_name", r.file_name}, {"last_modified", r.last_modified}, {"digest", r.digest}, {"size", r.size}};
}
void from_json(const json& j, FetchResult& r) {
  r.file_name = j.value("file_name", "");
  r.last_modified = j.value("last_modified", int64_t{-1});
  r.digest = j.value("digest", "");
  r.size = j.value("size", int64_t{0});
}

json to_json(const ProgressEvent& e) {
  return {{"id", e.id}, {"status", e.status}, {"current", e.current}, {"total", e.total}};
}
void from_json(const json& j, ProgressEvent& e) {
  e.id = j.value("id", "");
  e.status = j.value("status", "");
  e.current = j.value("current", int64_t{0});
  e.total = j.value("total", int64_t{0});
}

}  // namespace berth::image
