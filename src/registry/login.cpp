// berth login / logout: credentials checked against the registry, kept in
// config.json (or a credential helper).
#include "common/error.hpp"
#include "registry/distribution_client.hpp"
#include "registry/remote_ops.hpp"
#include "registry/token_cache.hpp"

namespace berth::registry {

static std::string registry_host(const std::string& r) {
  std::string h = r;
  for (const char* scheme : {"https://", "http://"})
    if (h.starts_with(scheme)) h = h.substr(std::string(scheme).size());
  while (h.ends_with("/")) h.pop_back();
  if (auto slash = h.find('/'); slash != std::string::npos) h.resize(slash);  // index.docker.io/v1
  if (h.empty() || h == "index.docker.io" || h == "registry-1.docker.io") return "docker.io";
  return h;
}

void login(const image::LoginRequest& req) {
  if (req.username.empty()) fail("login: a user name is needed (-u USER)");
  if (req.password.empty()) fail("login: a password is needed (--password-stdin, or typed at the prompt)");
  std::string host = registry_host(req.registry);
  RegistryConfig cfg(req.access.config_dir.empty() ? default_config_dir() : req.access.config_dir);
  ClientOptions opts;
  opts.cert_dir = req.access.cert_dir;
  opts.token_dir = req.access.token_dir;
  opts.config = &cfg;
  opts.credentials = Credentials{req.username, req.password};
  DistributionClient client(host, opts);
  client.ping();
  client.check_login();
  cfg.store(host, *opts.credentials);
}

bool logout(const image::LogoutRequest& req) {
  RegistryConfig cfg(req.access.config_dir.empty() ? default_config_dir() : req.access.config_dir);
  TokenCache(req.access.token_dir).forget(registry_host(req.registry));
  return cfg.erase(registry_host(req.registry));
}

}  // namespace berth::registry
