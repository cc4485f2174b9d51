// The user's registry settings, in docker's config.json format, at
// $BERTH_CONFIG/config.json (default ~/.config/berth/config.json):
//
//   {"auths": {"HOST[:PORT]": {"auth": base64("user:password")}},
//    "credsStore": "NAME", "credHelpers": {"HOST": "NAME"},
//    "registry-mirrors": ["https://mirror.example"],
//    "insecure-registries": ["HOST:PORT"]}
//
// docker.io's key is "https://index.docker.io/v1/", as docker writes it.
// credsStore/credHelpers run docker-credential-NAME (get/store/erase) the
// way docker does. The file is written atomically with mode 0600; keys this
// code does not know are kept.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace berth::registry {

struct Credentials {
  std::string username, password;
  bool empty() const { return username.empty() && password.empty(); }
};

std::string default_config_dir();  // $BERTH_CONFIG or ~/.config/berth

class RegistryConfig {
 public:
  // Reads dir/config.json (a missing file is an empty config). An
  // unreadable or malformed file is InvalidArgument naming it.
  explicit RegistryConfig(std::string dir);

  // Credentials for `host` (a reference's domain): helper, then auths.
  std::optional<Credentials> credentials(const std::string& host) const;
  void store(const std::string& host, const Credentials& c);
  // False if nothing was stored for `host`.
  bool erase(const std::string& host);

  std::vector<std::string> mirrors() const;  // for docker.io only, as docker
  bool insecure(const std::string& host) const;
  const std::string& path() const { return path_; }

 private:
  std::string helper_for(const std::string& host) const;
  void save() const;
  std::string dir_, path_;
  nlohmann::json raw_;
};

// The key docker uses in `auths` for a registry host.
std::string auth_key(const std::string& host);

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace berth::registry
