#include "engine/container_store.hpp"

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/error.hpp"

namespace berth::engine {

namespace {

Container parse(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error("container record is not valid JSON", ErrorKind::Corrupt);
  return j.get<Container>();
}

bool zero_value(const nlohmann::json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) || (v.is_number() && v == 0) ||
         (v.is_string() && v.get_ref<const std::string&>().empty()) || (v.is_array() && v.empty()) ||
         (v.is_object() && v.empty());
}

// Drops o's zero-valued members except `keep` (fields whose struct default
// is not their zero value, or whose absence means something else).
void drop_zero_members(nlohmann::json& o, std::initializer_list<std::string_view> keep = {}) {
  if (!o.is_object()) return;
  for (auto it = o.begin(); it != o.end();) {
    bool kept = std::find(keep.begin(), keep.end(), it.key()) != keep.end();
    it = !kept && zero_value(*it) ? o.erase(it) : std::next(it);
  }
}

// A record is stored without the members that hold their type's zero value
// (null, false, 0, "", [], {}) at its top level and in Config, HostConfig
// and State: half the bytes, and half of what `ps` spends parsing records
// (the DOM build is most of it). Maps inside those (Labels, Tmpfs,
// PortBindings, ...) are kept whole: an empty value there means something.
// A field whose default is not its zero value (Config.AttachStdout, a
// Cmd that is [] rather than absent) would read back wrong, so every write
// checks that the compact form reads back as the record, and stores the
// full form when it does not.
std::string encode(const Container& c) {
  nlohmann::json full = c;
  nlohmann::json compact = full;
  drop_zero_members(compact);
  if (auto it = compact.find("Config"); it != compact.end())
    drop_zero_members(*it, {"AttachStdout", "AttachStderr", "Cmd", "Entrypoint", "StopTimeout"});
  if (auto it = compact.find("HostConfig"); it != compact.end()) drop_zero_members(*it, {"NetworkMode"});
  if (auto it = compact.find("State"); it != compact.end()) drop_zero_members(*it, {"Status", "StartedAt", "FinishedAt"});
  std::string text = compact.dump();
  if (nlohmann::json(parse(text)) != full) return full.dump();
  return text;
}

}  // namespace

ContainerStore::ContainerStore(Database& db) : db_(db) {
  db_.exec(
      "CREATE TABLE IF NOT EXISTS containers ("
      " id TEXT PRIMARY KEY,"
      " name TEXT NOT NULL UNIQUE,"
      " created TEXT NOT NULL,"
      " record TEXT NOT NULL)");
}

void ContainerStore::insert(const Container& c) {
  Transaction t(db_);
  if (auto other = id_of_name(c.name))
    throw Error("Conflict. The container name \"/" + c.name + "\" is already in use by container \"" + *other +
                    "\". You have to remove (or rename) that container to be able to reuse that name.",
                ErrorKind::AlreadyExists);
  db_.prepare("INSERT INTO containers (id, name, created, record) VALUES (?, ?, ?, ?)")
      .bind(1, c.id)
      .bind(2, c.name)
      .bind(3, c.created)
      .bind(4, encode(c))
      .run();
  t.commit();
}

void ContainerStore::update(const Container& c) {
  Transaction t(db_);
  if (auto other = id_of_name(c.name); other && *other != c.id)
    throw Error("Conflict. The container name \"/" + c.name + "\" is already in use by container \"" + *other +
                    "\". You have to remove (or rename) that container to be able to reuse that name.",
                ErrorKind::AlreadyExists);
  db_.prepare("UPDATE containers SET name = ?, record = ? WHERE id = ?")
      .bind(1, c.name)
      .bind(2, encode(c))
      .bind(3, c.id)
      .run();
  t.commit();
}

void ContainerStore::remove(const std::string& id) {
  db_.prepare("DELETE FROM containers WHERE id = ?").bind(1, id).run();
}

std::optional<std::string> ContainerStore::id_of_name(const std::string& name) {
  auto st = db_.prepare("SELECT id FROM containers WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::optional<Container> ContainerStore::find(const std::string& ref) {
  if (ref.empty()) return std::nullopt;
  std::string r = ref[0] == '/' ? ref.substr(1) : ref;
  {
    auto st = db_.prepare("SELECT record FROM containers WHERE id = ? OR name = ?");
    st.bind(1, r).bind(2, r);
    if (st.step()) return parse(st.text(0));
  }
  if (r.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
  auto st = db_.prepare("SELECT record FROM containers WHERE substr(id, 1, ?) = ?");
  st.bind(1, static_cast<int64_t>(r.size())).bind(2, r);
  if (!st.step()) return std::nullopt;
  Container c = parse(st.text(0));
  if (st.step())
    throw Error("multiple containers found with provided prefix: " + r, ErrorKind::InvalidArgument);
  return c;
}

Container ContainerStore::get(const std::string& ref) {
  if (auto c = find(ref)) return *c;
  throw Error("No such container: " + ref, ErrorKind::NotFound);
}

const Container& ContainerStore::parsed(std::string text) {
  auto it = parsed_.find(text);
  if (it != parsed_.end()) return it->second;
  Container c = parse(text);
  return parsed_.emplace(std::move(text), std::move(c)).first->second;
}

std::vector<Container> ContainerStore::list() {
  std::vector<Container> out;
  std::unordered_map<std::string, Container> seen;  // this list's records: what stays cached
  auto st = db_.prepare("SELECT record FROM containers ORDER BY created DESC");
  while (st.step()) {
    std::string text = st.text(0);
    out.push_back(parsed(text));
    auto node = parsed_.extract(text);
    if (!node.empty()) seen.insert(std::move(node));
  }
  parsed_ = std::move(seen);
  return out;
}

}  // namespace berth::engine
