#include "engine/container_store.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::engine {

namespace {

Container parse(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error("container record is not valid JSON", ErrorKind::Corrupt);
  return j.get<Container>();
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
      .bind(4, nlohmann::json(c).dump())
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
      .bind(2, nlohmann::json(c).dump())
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
