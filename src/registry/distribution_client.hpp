// A client of one registry host speaking the OCI distribution API
// (https://github.com/opencontainers/distribution-spec): manifests, blobs,
// uploads, with authentication (anonymous, basic, bearer tokens cached per
// scope for their lifetime) and the choice of HTTPS or plain HTTP.
//
// Thread-safe: each call takes an HTTP connection from a pool, so layers
// can download and upload in parallel.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "registry/http_client.hpp"
#include "registry/registry_config.hpp"

namespace berth::registry {

struct ClientOptions {
  std::string cert_dir;                   // "" = /etc/berth/certs.d/HOST
  std::optional<Credentials> credentials; // given (login), else from the config
  const RegistryConfig* config = nullptr;
  std::string token_dir;                  // "" = tokens kept for this client only (token_cache.hpp)
};

struct FetchedManifest {
  std::string bytes;
  std::string media_type;
  std::string digest;  // sha256 of bytes (checked against what was asked)
};

class DistributionClient {
 public:
  // `host` is a reference's domain (docker.io means registry-1.docker.io);
  // `base_url` overrides where it is reached (a mirror).
  DistributionClient(std::string host, ClientOptions opts, std::string base_url = {});
  ~DistributionClient();

  const std::string& host() const { return host_; }
  // GET /v2/: picks https or http, learns the auth challenge. Errors say
  // clearly when the registry cannot be reached or refuses the login.
  void ping();
  // Proves the credentials (login): a token or a 2xx from /v2/.
  void check_login();

  // By tag or digest. Refuses schema 1; verifies the digest asked for and
  // the Docker-Content-Digest header. NotFound for an unknown tag.
  FetchedManifest get_manifest(const std::string& repo, const std::string& tag_or_digest);
  // Streams blob bytes from `offset` into `sink`. `on_start` is told,
  // before the first byte, where the answer starts: `offset`, or 0 when
  // the registry ignored the Range (the caller starts over). Returns that.
  int64_t get_blob(const std::string& repo, const std::string& digest, int64_t offset,
                   const std::function<void(int64_t from)>& on_start,
                   const std::function<bool(const char*, size_t)>& sink);
  // GET /v2/REPO/tags/list, following Link pages.
  std::vector<std::string> list_tags(const std::string& repo);
  bool has_blob(const std::string& repo, const std::string& digest);
  // POST ...?mount=&from=: true when the registry mounted it.
  bool mount_blob(const std::string& repo, const std::string& digest, const std::string& from_repo);
  // Uploads `size` bytes of fd: one PUT when chunk_size is 0 or the blob
  // fits one chunk, else PATCHes of chunk_size then the closing PUT.
  void upload_blob(const std::string& repo, const std::string& digest, int fd, int64_t size, int64_t chunk_size,
                   const std::function<void(int64_t)>& progress);
  // PUT the manifest; returns the digest the registry answered.
  std::string put_manifest(const std::string& repo, const std::string& tag, const std::string& bytes,
                           const std::string& media_type);

 private:
  struct Auth;
  HttpResponse send(const std::string& scope, HttpRequest req);
  std::string authorization(const std::string& scope, bool refresh);
  std::string fetch_token(const std::string& scope);
  // What a kept token is filed under: the token service, the scope and who asked.
  std::string token_key(const std::string& scope) const;
  std::unique_ptr<HttpClient> take_client();
  void give_back(std::unique_ptr<HttpClient> c);
  std::string url(const std::string& path) const { return base_ + path; }
  [[noreturn]] void fail_response(const HttpResponse& r, const std::string& what);

  std::string host_;
  ClientOptions opts_;
  std::string base_;  // scheme://host[:port]
  bool base_fixed_ = false;
  TlsFiles tls_;
  std::mutex mu_;
  std::mutex token_mu_;  // held while a token is fetched
  std::vector<std::unique_ptr<HttpClient>> pool_;
  std::unique_ptr<Auth> auth_;
};

// Is `host` (HOST[:PORT]) on loopback, where plain HTTP may be tried?
bool is_loopback_host(const std::string& host);
// The TLS files of a registry's cert dir (ca.crt, client.cert/client.key);
// InvalidArgument if a client.cert has no client.key.
TlsFiles tls_files_from(const std::string& cert_dir);
std::string default_cert_dir(const std::string& host);

}  // namespace berth::registry
