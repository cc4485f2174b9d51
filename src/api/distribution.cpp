// Registries: pull (POST /images/create?fromImage=), push, /auth,
// /distribution/{name}/json, through
// engine/registry_ops.hpp (the berth-registry helper), the same calls as
// `berth pull/push/login`. Progress is docker's JSON lines; credentials
// come in the X-Registry-Auth header (base64url of {"username",
// "password", "serveraddress"}) or the body of /auth, and are handed to
// the helper in a config dir of this request's own (a copy of the
// server's, so its insecure registries and mirrors still apply), removed
// after: nothing a client sends is stored, as dockerd stores nothing.
#include <stdlib.h>
#include <unistd.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "api/json_lines.hpp"
#include "api/router.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"
#include "engine/registry_ops.hpp"
#include "image/reference.hpp"

namespace berth::api {

using nlohmann::json;

namespace {

// base64 or base64url, padding optional (docker's clients send either).
std::string base64_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    if (c == '=' || std::isspace(static_cast<unsigned char>(c))) continue;
    int v = val(c);
    if (v < 0) throw Error("X-Registry-Auth: not base64", ErrorKind::InvalidArgument);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out.push_back(t[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(t[(v >> 18) & 63]);
    out.push_back(t[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? t[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string server_config_dir() {
  if (const char* c = ::getenv("BERTH_CONFIG"); c && *c) return c;
  const char* home = ::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.config/berth";
}

// A registry host as docker's clients name it ("https://index.docker.io/v1/",
// "127.0.0.1:5000", "http://host:port/").
std::string host_of(std::string h) {
  for (const char* scheme : {"https://", "http://"})
    if (h.starts_with(scheme)) h = h.substr(std::string(scheme).size());
  if (auto slash = h.find('/'); slash != std::string::npos) h.resize(slash);
  if (h.empty() || h == "index.docker.io" || h == "registry-1.docker.io") return "docker.io";
  return h;
}

// The credentials of one request, in a config dir of its own for the
// helper; none given: the server's own config dir.
class RequestAuth {
 public:
  RequestAuth(const std::string& username, const std::string& password, const std::string& host) {
    if (username.empty() && password.empty()) return;
    char tmpl[] = "/tmp/berth-api-auth-XXXXXX";
    if (!::mkdtemp(tmpl)) throw_errno("mkdtemp for the request's registry credentials");
    dir_ = tmpl;
    json cfg = json::object();
    std::string path = server_config_dir() + "/config.json";
    if (::access(path.c_str(), R_OK) == 0) {
      cfg = json::parse(fs::read_file(path), nullptr, false);
      if (!cfg.is_object()) cfg = json::object();
    }
    // Only what this request says: the server's own logins and helpers
    // are not the client's.
    cfg.erase("credsStore");
    cfg.erase("credHelpers");
    cfg["auths"] = json::object();
    std::string key = host == "docker.io" ? "https://index.docker.io/v1/" : host;
    cfg["auths"][key] = {{"auth", base64_encode(username + ":" + password)}};
    fs::write_file_atomic(dir_ + "/config.json", cfg.dump(), 0600);
  }
  ~RequestAuth() {
    if (dir_.empty()) return;
    try {
      fs::remove_all(dir_);
    } catch (...) {
    }
  }
  RequestAuth(const RequestAuth&) = delete;
  RequestAuth& operator=(const RequestAuth&) = delete;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// X-Registry-Auth's credentials for a registry `host`.
std::unique_ptr<RequestAuth> header_auth(Exchange& x, const std::string& host) {
  auto it = x.req.headers.find("x-registry-auth");
  if (it == x.req.headers.end() || it->second.empty()) return std::make_unique<RequestAuth>("", "", host);
  json a = json::parse(base64_decode(it->second), nullptr, false);
  if (!a.is_object()) throw Error("X-Registry-Auth: not base64 of a JSON object", ErrorKind::InvalidArgument);
  std::string user = a.value("username", ""), pass = a.value("password", "");
  if (user.empty() && pass.empty()) pass = a.value("identitytoken", "");
  return std::make_unique<RequestAuth>(user, pass, host);
}

// A helper's progress event as docker's JSON message.
json progress_json(const image::ProgressEvent& e) {
  json j = {{"status", e.status}};
  if (e.id.empty()) {
    // "latest: Pulling from library/busybox" is docker's {"id":"latest",
    // "status":"Pulling from library/busybox"}.
    auto p = e.status.find(": Pulling from ");
    if (p != std::string::npos) j = {{"status", e.status.substr(p + 2)}, {"id", e.status.substr(0, p)}};
    return j;
  }
  j["id"] = e.id;
  if (e.total > 0 || e.current > 0) {
    j["progressDetail"] = {{"current", e.current}, {"total", e.total}};
    j["progress"] = progress_bar(e.current, e.total);
  } else {
    j["progressDetail"] = json::object();
  }
  return j;
}

}  // namespace

void pull_image(Exchange& x) {
  std::string ref = x.req.text("fromImage"), tag = x.req.text("tag");
  if (!tag.empty()) ref += (tag.starts_with("sha256:") ? "@" : ":") + tag;
  image::Reference r = image::parse_reference(ref);  // 400 for a malformed one, before anything
  image::PullRequest req;
  req.reference = ref;
  req.platform = x.req.text("platform");
  auto auth = header_auth(x, r.domain);
  req.access.config_dir = auth->dir();
  JsonLines out(x);
  try {
    engine::pull_image(x.engine->images().root(), req, [&](const image::ProgressEvent& e) { out.send(progress_json(e)); });
  } catch (const Error& e) {
    // dockerd's words, which clients show: "pull access denied for X,
    // repository does not exist or may require 'docker login'" is the
    // registry's 404/401; berth-registry says what happened instead.
    out.fail(e);
  }
}

namespace {

void push(Exchange& x) {
  std::string name = x.req.param("name"), tag = x.req.text("tag");
  std::string ref = tag.empty() ? name : name + ":" + tag;
  image::Reference r = image::parse_reference(ref);
  if (!x.engine->images().find(r.str()))
    throw Error("An image does not exist locally with the tag: " + r.familiar_name(), ErrorKind::NotFound);
  image::PushRequest req;
  req.reference = ref;
  auto auth = header_auth(x, r.domain);
  req.access.config_dir = auth->dir();
  JsonLines out(x);
  try {
    auto res = engine::push_image(x.engine->images().root(), req,
                                  [&](const image::ProgressEvent& e) { out.send(progress_json(e)); });
    out.send({{"status", res.tag + ": digest: " + res.digest + " size: " + std::to_string(res.size)}});
    out.send({{"progressDetail", json::object()},
              {"aux", {{"Tag", res.tag}, {"Digest", res.digest}, {"Size", res.size}}}});
  } catch (const Error& e) {
    out.fail(e);
  }
}

void auth(Exchange& x) {
  json b = x.req.json_body();
  image::LoginRequest req;
  req.registry = b.value("serveraddress", "");
  req.username = b.value("username", "");
  req.password = b.value("password", "");
  if (req.username.empty() || req.password.empty())
    throw Error("login: username and password are required", ErrorKind::InvalidArgument);
  // Checked against the registry, stored nowhere: the client keeps its
  // credentials and sends them with each pull and push, as with dockerd.
  RequestAuth scratch("-", "-", host_of(req.registry));
  req.access.config_dir = scratch.dir();
  try {
    engine::registry_login(req);
  } catch (const Error& e) {
    std::string m = e.what();
    std::string lower = m;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("401") != std::string::npos || lower.find("unauthorized") != std::string::npos ||
        lower.find("denied") != std::string::npos || lower.find("wrong user name or password") != std::string::npos ||
        lower.find("authentication required") != std::string::npos)
      throw StatusError(401, m);
    throw;
  }
  x.json(200, {{"Status", "Login Succeeded"}, {"IdentityToken", ""}});
}

// docker's GET /distribution/{name}/json: the descriptor of the manifest
// (or index) the name points at in its registry, and its platforms.
void distribution_inspect(Exchange& x) {
  std::string name = x.req.param("name");
  image::Reference r = image::parse_reference(name);  // 400 for a malformed one
  image::InspectRequest req;
  req.reference = name;
  auto auth = header_auth(x, r.domain);
  req.access.config_dir = auth->dir();
  auto d = engine::inspect_remote(req);
  json platforms = json::array();
  for (auto& p : d.platforms) {
    // "os/arch[/variant]"
    auto a = p.find('/'), v = p.find('/', a == std::string::npos ? a : a + 1);
    json j = {{"os", p.substr(0, a)}, {"architecture", a == std::string::npos ? "" : p.substr(a + 1, v - a - 1)}};
    if (v != std::string::npos) j["variant"] = p.substr(v + 1);
    platforms.push_back(j);
  }
  x.json(200, {{"Descriptor", {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}}},
               {"Platforms", platforms}});
}

}  // namespace

void add_distribution_routes(Router& r) {
  r.add("POST", "/images/{name*}/push", push);
  r.add("POST", "/auth", auth);
  r.add("GET", "/distribution/{name*}/json", distribution_inspect);
}

}  // namespace berth::api
