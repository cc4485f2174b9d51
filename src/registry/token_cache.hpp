// Bearer tokens kept across commands (docs/registries.md): a `berth pull`
// right after another reuses the token the first one got, for its
// lifetime. One file per registry, realm, service, scope and account,
// under DIR/HOST/ (DIR is the state dir's registry-tokens/, on tmpfs by
// default), mode 0600 in a 0700 directory, written atomically. Tokens are
// bearer secrets: they never go to the root dir or the config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace berth::registry {

class TokenCache {
 public:
  // "" = no cache (every operation asks the token service).
  explicit TokenCache(std::string dir) : dir_(std::move(dir)) {}
  bool enabled() const { return !dir_.empty(); }

  struct Entry {
    std::string token;
    int64_t expires = 0;  // seconds since the epoch, already 10 s early
  };
  // A token still valid now, if one was stored under `key` for `host`.
  std::optional<Entry> load(const std::string& host, const std::string& key) const;
  // Best effort: a cache that cannot be written costs a token fetch, not the operation.
  void store(const std::string& host, const std::string& key, const Entry& e) const;
  // logout: every token of `host` goes.
  void forget(const std::string& host) const;

 private:
  std::string host_dir(const std::string& host) const;
  std::string dir_;
};

}  // namespace berth::registry
