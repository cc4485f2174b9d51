#include "engine/volumes.hpp"

#include <sys/stat.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "engine/names.hpp"

namespace berth::engine {

namespace {

Volume row(Statement& st, const std::string& root) {
  Volume v;
  v.name = st.text(0);
  v.created = st.text(1);
  auto labels = nlohmann::json::parse(st.text(2), nullptr, false);
  if (labels.is_object()) v.labels = labels.get<std::map<std::string, std::string>>();
  v.anonymous = st.integer(3) != 0;
  v.mountpoint = root + "/volumes/" + v.name + "/_data";
  return v;
}

}  // namespace

Volumes::Volumes(Database& db, std::string root) : db_(db), root_(std::move(root)) {
  db_.exec(
      "CREATE TABLE IF NOT EXISTS volumes ("
      " name TEXT PRIMARY KEY, created TEXT NOT NULL, labels TEXT NOT NULL, anonymous INTEGER NOT NULL)");
}

void Volumes::check_name(const std::string& n) {
  bool ok = n.size() >= 2 && n.size() <= 255 && std::isalnum(static_cast<unsigned char>(n[0]));
  for (char c : n) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  if (!ok)
    throw Error("create " + n + ": \"" + n +
                    "\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
                    "allowed. If you intended to pass a host directory, use absolute path",
                ErrorKind::InvalidArgument);
}

std::string Volumes::path(const std::string& name) const { return root_ + "/volumes/" + name + "/_data"; }

Volume Volumes::create(const std::string& in_name, const std::map<std::string, std::string>& labels, bool anonymous,
                       bool* created) {
  std::string name = in_name.empty() ? random_id() : in_name;
  check_name(name);
  if (created) *created = false;
  if (auto v = find(name)) return *v;
  fs::mkdir_p(path(name), 0755);
  try {
    db_.prepare("INSERT OR IGNORE INTO volumes (name, created, labels, anonymous) VALUES (?, ?, ?, ?)")
        .bind(1, name)
        .bind(2, now_rfc3339())
        .bind(3, json_text(nlohmann::json(labels)))
        .bind(4, int64_t{anonymous})
        .run();
  } catch (...) {
    ::rmdir(path(name).c_str());
    ::rmdir((root_ + "/volumes/" + name).c_str());
    throw;
  }
  if (created) *created = db_.changes() > 0;
  return get(name);
}

std::optional<Volume> Volumes::find(const std::string& name) {
  auto st = db_.prepare("SELECT name, created, labels, anonymous FROM volumes WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return row(st, root_);
}

Volume Volumes::get(const std::string& name) {
  if (auto v = find(name)) return *v;
  throw Error("get " + name + ": no such volume", ErrorKind::NotFound);
}

std::vector<Volume> Volumes::list() {
  std::vector<Volume> out;
  auto st = db_.prepare("SELECT name, created, labels, anonymous FROM volumes ORDER BY name");
  while (st.step()) out.push_back(row(st, root_));
  return out;
}

void Volumes::remove(const std::string& name, const std::vector<std::string>& in_use, bool force) {
  if (!find(name)) {
    if (force) return;
    throw Error("get " + name + ": no such volume", ErrorKind::NotFound);
  }
  if (!in_use.empty()) {
    std::string ids;
    for (auto& i : in_use) ids += (ids.empty() ? "" : ", ") + i;
    throw Error("remove " + name + ": volume is in use - [" + ids + "]", ErrorKind::FailedPrecondition);
  }
  db_.prepare("DELETE FROM volumes WHERE name = ?").bind(1, name).run();
  fs::remove_all(root_ + "/volumes/" + name);
}

}  // namespace berth::engine
