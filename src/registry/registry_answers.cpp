#include "registry/registry_answers.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::registry {

using nlohmann::json;

namespace {

// A string member of object `o`, or "" (absent, or of another type).
std::string string_member(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string error_message(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return "";
  auto errors = j.find("errors");
  if (errors == j.end() || !errors->is_array()) return "";
  std::string msg;
  for (const auto& e : *errors) {
    if (!e.is_object()) continue;
    std::string one = string_member(e, "message");
    if (one.empty()) one = string_member(e, "code");
    if (one.empty()) continue;
    msg += (msg.empty() ? "" : "; ") + one;
  }
  return msg;
}

ManifestKind sniff_manifest(std::string_view bytes, std::string_view content_type, const std::string& what) {
  json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded()) throw Error(what + ": manifest is not JSON", ErrorKind::Corrupt);
  ManifestKind k;
  k.media_type = std::string(content_type.substr(0, content_type.find(';')));
  if (!j.is_object()) return k;
  if (std::string mt = string_member(j, "mediaType"); !mt.empty()) k.media_type = mt;
  // An integer, and a small one: a float or a huge number is no version
  // (nlohmann's get<int> of either is undefined).
  if (auto v = j.find("schemaVersion"); v != j.end() && v->is_number_unsigned() && v->get<uint64_t>() < 1000)
    k.schema_version = static_cast<int>(v->get<uint64_t>());  // JSON's non-negative integers parse as unsigned
  return k;
}

std::vector<std::string> parse_tags(std::string_view body, const std::string& what) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) throw Error(what + ": the answer is not JSON", ErrorKind::Corrupt);
  std::vector<std::string> tags;
  if (!j.is_object()) return tags;
  if (auto t = j.find("tags"); t != j.end() && t->is_array())
    for (const auto& tag : *t)
      if (tag.is_string()) tags.push_back(tag.get<std::string>());
  return tags;
}

std::string next_link(std::string_view header, std::string_view base, const std::string& what) {
  // One link-value is `<URI>; param; param`, several are comma separated.
  for (size_t at = 0; at < header.size();) {
    size_t open = header.find('<', at);
    if (open == std::string_view::npos) break;
    size_t close = header.find('>', open);
    if (close == std::string_view::npos) break;
    size_t end = header.find('<', close);
    std::string_view params = header.substr(close + 1, end == std::string_view::npos ? end : end - close - 1);
    std::string_view target = header.substr(open + 1, close - open - 1);
    at = close + 1;
    if (params.find("rel=\"next\"") == std::string_view::npos && params.find("rel=next") == std::string_view::npos)
      continue;
    bool path = !target.empty() && target[0] == '/' && (target.size() == 1 || target[1] != '/');
    bool here = !base.empty() && target.size() > base.size() && target.substr(0, base.size()) == base &&
                target[base.size()] == '/';
    if (!path && !here)
      throw Error(what + ": the registry's next page is not on the registry (" +
                      std::string(target.substr(0, 200)) + ")",
                  ErrorKind::InvalidArgument);
    return std::string(target);
  }
  return "";
}

}  // namespace berth::registry
