// Named volumes (table volumes in <root>/berth.db; data in
// <root>/volumes/<name>/_data), Docker's "local" driver. A volume named in
// `-v NAME:/path` is created on first use; anonymous ones (image VOLUME,
// `-v /path`) get a random name and go with `rm -v` / `run --rm`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/sqlite.hpp"

namespace berth::engine {

struct Volume {
  std::string name;
  std::string driver = "local";
  std::string mountpoint;  // <root>/volumes/<name>/_data
  std::string created;
  std::map<std::string, std::string> labels;
  bool anonymous = false;
};

class Volumes {
 public:
  Volumes(Database& db, std::string root);

  // Creates `name` (random if empty); an existing one is returned as is
  // (Docker's create is idempotent). `*created` says which.
  Volume create(const std::string& name, const std::map<std::string, std::string>& labels, bool anonymous = false,
                bool* created = nullptr);
  Volume get(const std::string& name);
  std::optional<Volume> find(const std::string& name);
  std::vector<Volume> list();
  // `in_use`: the containers using it (an error unless force... Docker
  // refuses even with force); NotFound unless `force`.
  void remove(const std::string& name, const std::vector<std::string>& in_use, bool force);
  std::string path(const std::string& name) const;

  static void check_name(const std::string& name);

 private:
  Database& db_;
  std::string root_;
};

}  // namespace berth::engine
