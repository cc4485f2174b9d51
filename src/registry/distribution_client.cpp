#include "registry/distribution_client.hpp"

#include <arpa/inet.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "common/fs.hpp"
#include "oci/image_spec.hpp"
#include "registry/registry_answers.hpp"
#include "registry/token_cache.hpp"
#include "registry/www_authenticate.hpp"

namespace berth::registry {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
constexpr const char* kSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

std::string host_only(const std::string& host) {
  if (host.starts_with("[")) return host.substr(1, host.find(']') - 1);
  auto colon = host.rfind(':');
  return colon == std::string::npos ? host : host.substr(0, colon);
}

// curl's URL escaping is not needed: scopes and services are plain text
// except for ':' and ' ', which we escape here.
std::string query_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  std::string h = host_only(host);
  if (h == "localhost" || h == "::1") return true;
  in_addr a;
  return ::inet_pton(AF_INET, h.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

std::string default_cert_dir(const std::string& host) { return "/etc/berth/certs.d/" + host; }

TlsFiles tls_files_from(const std::string& dir) {
  TlsFiles t;
  if (dir.empty() || !fs::is_dir(dir)) return t;
  if (fs::exists(dir + "/ca.crt")) t.ca_file = dir + "/ca.crt";
  bool cert = fs::exists(dir + "/client.cert"), key = fs::exists(dir + "/client.key");
  if (cert != key)
    fail(dir + ": " + std::string(cert ? "client.cert has no client.key" : "client.key has no client.cert") +
         " beside it (mutual TLS needs both)");
  if (cert) t.client_cert = dir + "/client.cert", t.client_key = dir + "/client.key";
  return t;
}

struct DistributionClient::Auth {
  std::string scheme;  // "", "basic", "bearer"
  std::string realm, service;
  struct Token {
    std::string value;
    Clock::time_point expires;
  };
  std::map<std::string, Token> tokens;  // by scope
};

DistributionClient::DistributionClient(std::string host, ClientOptions opts, std::string base_url)
    : host_(std::move(host)), opts_(std::move(opts)), auth_(std::make_unique<Auth>()) {
  if (!opts_.credentials && opts_.config) {
    if (auto c = opts_.config->credentials(host_)) opts_.credentials = *c;
  }
  tls_ = tls_files_from(opts_.cert_dir.empty() ? default_cert_dir(host_) : opts_.cert_dir);
  if (!opts_.cert_dir.empty() && !fs::is_dir(opts_.cert_dir))
    fail("--cert-dir " + opts_.cert_dir + ": no such directory");
  if (!base_url.empty()) {
    while (base_url.ends_with("/")) base_url.pop_back();
    base_ = base_url;
    base_fixed_ = true;
  } else {
    base_ = "https://" + (host_ == "docker.io" ? std::string("registry-1.docker.io") : host_);
  }
}

DistributionClient::~DistributionClient() = default;

std::unique_ptr<HttpClient> DistributionClient::take_client() {
  {
    std::lock_guard lk(mu_);
    if (!pool_.empty()) {
      auto c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  return std::make_unique<HttpClient>(tls_);
}

void DistributionClient::give_back(std::unique_ptr<HttpClient> c) {
  std::lock_guard lk(mu_);
  pool_.push_back(std::move(c));
}

void DistributionClient::ping() {
  HttpRequest req;
  req.url = url("/v2/");
  HttpResponse r;
  auto client = take_client();
  try {
    r = client->perform(req);
  } catch (const TransportError& e) {
    std::string where = opts_.cert_dir.empty() ? default_cert_dir(host_) : opts_.cert_dir;
    if (e.certificate_problem())
      fail("registry " + host_ + ": TLS certificate not trusted (" + e.message() +
               "); put the CA that signed it in " + where + "/ca.crt or pass --cert-dir",
           ErrorKind::FailedPrecondition);
    bool may_fall_back = !base_fixed_ && base_.starts_with("https://") &&
                         (is_loopback_host(host_) || (opts_.config && opts_.config->insecure(host_)));
    if (!may_fall_back && e.tls_handshake_failed())
      fail("registry " + host_ + " does not answer HTTPS (" + e.message() +
               "); a plain-HTTP registry must be named in insecure-registries of " +
               (opts_.config ? opts_.config->path() : std::string("config.json")),
           ErrorKind::FailedPrecondition);
    if (!may_fall_back)
      fail("registry " + host_ + " cannot be reached: " + e.message(), ErrorKind::FailedPrecondition);
    // Plain HTTP only when the registry answers plain HTTP.
    std::string plain = "http://" + host_;
    req.url = plain + "/v2/";
    try {
      r = client->perform(req);
    } catch (const TransportError& e2) {
      fail("registry " + host_ + " cannot be reached: " + e.message(), ErrorKind::FailedPrecondition);
    }
    // Only a registry's answer counts (200, or 401 asking for a login): a
    // TLS server answers plain HTTP with a 400, and that is no reason to
    // drop TLS (it refused our handshake: a client certificate missing?).
    if (r.status != 200 && r.status != 401)
      fail("registry " + host_ + ": TLS failed (" + e.message() + ") and it does not speak plain HTTP either",
           ErrorKind::FailedPrecondition);
    base_ = plain;
  }
  give_back(std::move(client));
  if (r.status == 401) {
    for (auto& ch : parse_www_authenticate(r.header("www-authenticate"))) {
      if (ch.scheme == "bearer" && !ch.param("realm").empty()) {
        std::lock_guard lk(mu_);
        auth_->scheme = "bearer", auth_->realm = ch.param("realm"), auth_->service = ch.param("service");
        return;
      }
      if (ch.scheme == "basic") {
        std::lock_guard lk(mu_);
        auth_->scheme = "basic";
        return;
      }
    }
    fail("registry " + host_ + " asks for an authentication berth does not know (WWW-Authenticate: " +
             r.header("www-authenticate") + ")",
         ErrorKind::Unsupported);
  }
  if (r.status / 100 != 2) fail_response(r, "registry " + host_ + " (GET /v2/)");
}

void DistributionClient::check_login() {
  std::string scheme;
  {
    std::lock_guard lk(mu_);
    scheme = auth_->scheme;
  }
  if (scheme == "bearer") {
    fetch_token("");
    return;
  }
  HttpRequest req;
  req.url = url("/v2/");
  auto r = send("", req);
  if (r.status / 100 != 2) fail_response(r, "registry " + host_);
}

std::string DistributionClient::fetch_token(const std::string& scope) {
  std::string realm, service;
  {
    std::lock_guard lk(mu_);
    realm = auth_->realm, service = auth_->service;
  }
  std::string u = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  if (!service.empty()) u += "service=" + query_escape(service);
  size_t b = 0;
  while (b < scope.size()) {
    auto e = scope.find(' ', b);
    if (e == std::string::npos) e = scope.size();
    u += "&scope=" + query_escape(scope.substr(b, e - b));
    b = e + 1;
  }
  HttpRequest req;
  req.url = u;
  if (opts_.credentials) {
    req.headers.push_back("Authorization: Basic " +
                          base64_encode(opts_.credentials->username + ":" + opts_.credentials->password));
    u += "&account=" + query_escape(opts_.credentials->username);
  }
  HttpResponse r;
  auto client = take_client();
  try {
    r = client->perform(req);
  } catch (const TransportError& e) {
    fail("registry " + host_ + ": token service cannot be reached: " + e.message(), ErrorKind::FailedPrecondition);
  }
  give_back(std::move(client));
  if (r.status == 401 || r.status == 403)
    fail(opts_.credentials ? "registry " + host_ + ": wrong user name or password"
                           : "registry " + host_ + ": authentication required (berth login " + host_ + ")",
         ErrorKind::FailedPrecondition);
  if (r.status / 100 != 2) fail_response(r, "registry " + host_ + " token service");
  auto answer = parse_token_answer(r.body, host_);
  std::string tok = answer.token;
  int64_t ttl = answer.expires_in;
  std::lock_guard lk(mu_);
  // Refreshed 10 s early, so a token does not expire in flight.
  auth_->tokens[scope] = {tok, Clock::now() + std::chrono::seconds(ttl - 10)};
  TokenCache(opts_.token_dir).store(host_, token_key(scope), {tok, static_cast<int64_t>(std::time(nullptr)) + ttl - 10});
  return tok;
}

std::string DistributionClient::token_key(const std::string& scope) const {
  return auth_->realm + "\n" + auth_->service + "\n" + scope + "\n" +
         (opts_.credentials ? opts_.credentials->username : std::string());
}

std::string DistributionClient::authorization(const std::string& scope, bool refresh) {
  std::string scheme;
  {
    std::lock_guard lk(mu_);
    scheme = auth_->scheme;
    if (scheme == "bearer" && !refresh) {
      auto it = auth_->tokens.find(scope);
      if (it != auth_->tokens.end() && it->second.expires > Clock::now()) return "Bearer " + it->second.value;
    }
  }
  if (scheme == "basic") {
    if (!opts_.credentials) return {};
    return "Basic " + base64_encode(opts_.credentials->username + ":" + opts_.credentials->password);
  }
  if (scheme == "bearer") {
    // One fetch at a time: parallel layers needing the same scope wait
    // for the first one's token instead of each asking for their own.
    std::lock_guard fetching(token_mu_);
    if (!refresh) {
      std::lock_guard lk(mu_);
      auto it = auth_->tokens.find(scope);
      if (it != auth_->tokens.end() && it->second.expires > Clock::now()) return "Bearer " + it->second.value;
      // One an earlier command got (a refresh, after a 401, skips it).
      if (auto e = TokenCache(opts_.token_dir).load(host_, token_key(scope))) {
        auto left = std::chrono::seconds(e->expires - static_cast<int64_t>(std::time(nullptr)));
        auth_->tokens[scope] = {e->token, Clock::now() + left};
        return "Bearer " + e->token;
      }
    }
    return "Bearer " + fetch_token(scope);
  }
  return {};
}

HttpResponse DistributionClient::send(const std::string& scope, HttpRequest req) {
  auto base_headers = req.headers;
  for (int attempt = 0;; ++attempt) {
    req.headers = base_headers;
    if (auto a = authorization(scope, attempt > 0); !a.empty()) req.headers.push_back("Authorization: " + a);
    auto client = take_client();
    HttpResponse r;
    try {
      r = client->perform(req);
    } catch (const TransportError& e) {
      fail("registry " + host_ + ": " + e.message(), ErrorKind::FailedPrecondition);
    }
    give_back(std::move(client));
    if (r.status != 401) return r;
    // A challenge may come only now (a registry that answered /v2/ freely).
    bool learnt = false;
    for (auto& ch : parse_www_authenticate(r.header("www-authenticate"))) {
      std::lock_guard lk(mu_);
      if (ch.scheme == "bearer" && !ch.param("realm").empty()) {
        learnt = auth_->scheme != "bearer";
        auth_->scheme = "bearer", auth_->realm = ch.param("realm"), auth_->service = ch.param("service");
        break;
      }
      if (ch.scheme == "basic") {
        learnt = auth_->scheme != "basic";
        auth_->scheme = "basic";
        break;
      }
    }
    if (attempt == 0) {
      // A new challenge, or a bearer token the registry no longer takes:
      // once more with fresh authorization. Basic credentials refused
      // once are refused again.
      std::lock_guard lk(mu_);
      if (learnt || auth_->scheme == "bearer") continue;
    }
    std::string scheme;
    {
      std::lock_guard lk(mu_);
      scheme = auth_->scheme;
    }
    if (opts_.credentials)
      fail("registry " + host_ + ": wrong user name or password" +
               (scheme == "bearer" ? std::string(" (or no access to ") + scope + ")" : std::string()),
           ErrorKind::FailedPrecondition);
    fail("registry " + host_ + ": authentication required (berth login " + host_ + ")", ErrorKind::FailedPrecondition);
  }
}

void DistributionClient::fail_response(const HttpResponse& r, const std::string& what) {
  std::string msg = error_message(r.body);
  if (msg.empty()) msg = "HTTP " + std::to_string(r.status);
  ErrorKind kind = r.status == 404 ? ErrorKind::NotFound
                   : r.status == 400 ? ErrorKind::InvalidArgument
                                     : ErrorKind::FailedPrecondition;
  fail(what + ": " + msg, kind);
}

// Upload locations may be relative to the registry or absolute.
static std::string absolute_location(const std::string& base, const std::string& loc) {
  return loc.starts_with("http://") || loc.starts_with("https://") ? loc : base + loc;
}
static std::string pull_scope(const std::string& repo) { return "repository:" + repo + ":pull"; }
static std::string push_scope(const std::string& repo) { return "repository:" + repo + ":pull,push"; }

FetchedManifest DistributionClient::get_manifest(const std::string& repo, const std::string& ref) {
  HttpRequest req;
  req.url = url("/v2/" + repo + "/manifests/" + ref);
  req.headers.push_back(std::string("Accept: ") + oci::media::kOciIndex + ", " + oci::media::kOciManifest + ", " +
                        oci::media::kDockerManifestList + ", " + oci::media::kDockerManifest + ", " + kSchema1Signed +
                        ", " + kSchema1);
  auto r = send(pull_scope(repo), req);
  std::string what = host_ + "/" + repo + (ref.starts_with("sha256:") ? "@" : ":") + ref;
  if (r.status == 404) fail(what + ": manifest unknown (no such tag or digest in the registry)", ErrorKind::NotFound);
  if (r.status / 100 != 2) fail_response(r, what);
  FetchedManifest m;
  m.bytes = std::move(r.body);
  m.digest = sha256_digest(m.bytes);
  ManifestKind kind = sniff_manifest(m.bytes, r.header("content-type"), what);
  m.media_type = kind.media_type;
  if (kind.schema_version == 1 || m.media_type == kSchema1 || m.media_type == kSchema1Signed)
    fail(what + ": a docker schema 1 manifest, which berth does not pull (schema 1 is deprecated; push the image "
                "again with a current tool to get schema 2 or OCI)",
         ErrorKind::Unsupported);
  if (ref.starts_with("sha256:") && m.digest != ref)
    fail(what + ": manifest content hashes to " + m.digest + ", not the digest asked for", ErrorKind::Corrupt);
  if (auto d = r.header("docker-content-digest"); is_sha256_digest(d) && d != m.digest)
    fail(what + ": Docker-Content-Digest says " + d + " but the manifest hashes to " + m.digest, ErrorKind::Corrupt);
  if (!oci::is_index_media_type(m.media_type) && !oci::is_manifest_media_type(m.media_type))
    fail(what + ": unknown manifest media type \"" + m.media_type + "\"", ErrorKind::Unsupported);
  return m;
}

int64_t DistributionClient::get_blob(const std::string& repo, const std::string& digest, int64_t offset,
                                     const std::function<void(int64_t from)>& on_start,
                                     const std::function<bool(const char*, size_t)>& sink) {
  HttpRequest req;
  req.url = url("/v2/" + repo + "/blobs/" + digest);
  if (offset > 0) req.headers.push_back("Range: bytes=" + std::to_string(offset) + "-");
  int64_t from = 0;
  req.on_answer = [&](long status, const std::map<std::string, std::string>& h) {
    from = 0;
    if (status == 206) {
      // "bytes START-END/TOTAL": only a resume from where we asked is usable.
      auto it = h.find("content-range");
      from = it != h.end() && it->second.starts_with("bytes " + std::to_string(offset) + "-") ? offset : -1;
    }
    if (from >= 0) on_start(from);
  };
  req.sink = [&](const char* p, size_t n) { return from >= 0 && sink(p, n); };
  std::string what = host_ + "/" + repo + "@" + digest;
  HttpResponse r;
  try {
    r = send(pull_scope(repo), req);
  } catch (Error& e) {
    if (from < 0) return get_blob(repo, digest, 0, on_start, sink);
    throw;
  }
  if (r.status == 404) fail(what + ": blob unknown to the registry", ErrorKind::NotFound);
  if (r.status == 416 && offset > 0) return get_blob(repo, digest, 0, on_start, sink);
  if (r.status / 100 != 2) fail_response(r, "download blob " + what);
  return from;
}

std::vector<std::string> DistributionClient::list_tags(const std::string& repo) {
  std::vector<std::string> tags;
  std::string next = "/v2/" + repo + "/tags/list";
  for (int page = 0; !next.empty() && page < 1000; ++page) {
    HttpRequest req;
    req.url = absolute_location(base_, next);
    auto r = send(pull_scope(repo), req);
    if (r.status == 404) fail(host_ + "/" + repo + ": repository unknown to the registry", ErrorKind::NotFound);
    if (r.status / 100 != 2) fail_response(r, "list tags of " + host_ + "/" + repo);
    std::string what = "list tags of " + host_ + "/" + repo;
    for (auto& t : parse_tags(r.body, what)) tags.push_back(std::move(t));
    next = next_link(r.header("link"), base_, what);
  }
  return tags;
}

bool DistributionClient::has_blob(const std::string& repo, const std::string& digest) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = url("/v2/" + repo + "/blobs/" + digest);
  auto r = send(push_scope(repo), req);
  if (r.status == 404) return false;
  if (r.status / 100 == 2) return true;
  fail_response(r, "HEAD blob " + host_ + "/" + repo + "@" + digest);
}

bool DistributionClient::mount_blob(const std::string& repo, const std::string& digest, const std::string& from) {
  HttpRequest req;
  req.method = "POST";
  req.url = url("/v2/" + repo + "/blobs/uploads/?mount=" + digest + "&from=" + query_escape(from));
  auto r = send(push_scope(repo) + " " + pull_scope(from), req);
  return r.status == 201;
}

static std::string with_query(const std::string& base, const std::string& loc, const std::string& q) {
  std::string u = absolute_location(base, loc);
  return u + (u.find('?') == std::string::npos ? "?" : "&") + q;
}

void DistributionClient::upload_blob(const std::string& repo, const std::string& digest, int fd, int64_t size,
                                     int64_t chunk_size, const std::function<void(int64_t)>& progress) {
  std::string what = "upload blob " + digest + " to " + host_ + "/" + repo;
  std::string scope = push_scope(repo);
  HttpRequest start;
  start.method = "POST";
  start.url = url("/v2/" + repo + "/blobs/uploads/");
  auto r = send(scope, start);
  if (r.status != 202) fail_response(r, what);
  std::string loc = r.header("location");
  if (loc.empty()) fail(what + ": the registry gave no upload location", ErrorKind::Corrupt);
  int64_t done = 0;
  if (chunk_size > 0 && size > chunk_size) {
    while (done < size) {
      int64_t n = std::min(chunk_size, size - done);
      HttpRequest patch;
      patch.method = "PATCH";
      patch.url = absolute_location(base_, loc);
      patch.headers = {"Content-Type: application/octet-stream",
                       "Content-Range: " + std::to_string(done) + "-" + std::to_string(done + n - 1)};
      patch.body_fd = fd, patch.body_offset = done, patch.body_size = n;
      int64_t base_done = done;
      patch.upload_progress = [&](int64_t k) { progress(base_done + k); };
      auto pr = send(scope, patch);
      if (pr.status != 202) fail_response(pr, what);
      if (auto l = pr.header("location"); !l.empty()) loc = l;
      done += n;
    }
    HttpRequest put;
    put.method = "PUT";
    put.url = with_query(base_, loc, "digest=" + query_escape(digest));
    put.headers = {"Content-Type: application/octet-stream"};
    r = send(scope, put);
  } else {
    HttpRequest put;
    put.method = "PUT";
    put.url = with_query(base_, loc, "digest=" + query_escape(digest));
    put.headers = {"Content-Type: application/octet-stream"};
    put.body_fd = fd, put.body_offset = 0, put.body_size = size;
    put.upload_progress = progress;
    r = send(scope, put);
  }
  if (r.status != 201) fail_response(r, what);
  if (auto d = r.header("docker-content-digest"); is_sha256_digest(d) && d != digest)
    fail(what + ": the registry stored it as " + d, ErrorKind::Corrupt);
}

std::string DistributionClient::put_manifest(const std::string& repo, const std::string& tag, const std::string& bytes,
                                             const std::string& media_type) {
  HttpRequest req;
  req.method = "PUT";
  req.url = url("/v2/" + repo + "/manifests/" + tag);
  req.headers = {"Content-Type: " + media_type};
  req.body = bytes;
  auto r = send(push_scope(repo), req);
  std::string what = "push manifest " + host_ + "/" + repo + ":" + tag;
  if (r.status != 201 && r.status != 200) fail_response(r, what);
  std::string mine = sha256_digest(bytes);
  if (auto d = r.header("docker-content-digest"); is_sha256_digest(d) && d != mine)
    fail(what + ": the registry stored it as " + d + ", not " + mine, ErrorKind::Corrupt);
  return mine;
}

}  // namespace berth::registry
