#include "engine/container_store.hpp"

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/error.hpp"
#include "common/json_text.hpp"

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
  std::string text = json_text(compact);
  if (nlohmann::json(parse(text)) != full) return json_text(full);
  return text;
}

// The listing columns, in the order every write binds them and listing()
// reads them (after id, name, created): the record's scalars that `ps`
// shows or sync folds, then `listing`, the few non-scalar ones as a small
// JSON object in the record's own shape (NULL when they are all empty,
// which is most containers), read back with the record's from_json.
constexpr const char* kListingColumns =
    "image, image_id, path, init, network_mode, status, pid, exit_code, oom_killed, error, started_at, "
    "finished_at, restart_count, creator_pid, creator_start, listing";
constexpr int kListingCount = 16;

std::string listing_json(const Container& c) {
  nlohmann::json x = nlohmann::json::object();
  if (!c.args.empty()) x["Args"] = c.args;
  if (!c.config.labels.empty()) x["Config"]["Labels"] = c.config.labels;
  if (!c.mounts.empty()) x["Mounts"] = c.mounts;
  for (const auto& e : c.networks) x["BerthNetworks"].push_back({{"Network", e.network}});
  for (const auto& p : c.ports)
    x["BerthPorts"].push_back({{"ContainerPort", p.container_port}, {"HostIp", p.host_ip}, {"HostPort", p.host_port}});
  if (c.state.health) x["State"]["Health"] = nlohmann::json(c.state)["Health"];
  return x.empty() ? std::string() : json_text(x);
}

// Binds the listing columns from parameter `i` on.
void bind_listing(Statement& st, int i, const Container& c) {
  const ContainerState& s = c.state;
  st.bind(i, c.config.image).bind(i + 1, c.image_id).bind(i + 2, c.path).bind(i + 3, int64_t{c.host.init});
  st.bind(i + 4, c.host.network_mode).bind(i + 5, s.status).bind(i + 6, int64_t{s.pid});
  st.bind(i + 7, int64_t{s.exit_code}).bind(i + 8, int64_t{s.oom_killed}).bind(i + 9, s.error);
  st.bind(i + 10, s.started_at).bind(i + 11, s.finished_at).bind(i + 12, int64_t{c.restart_count});
  st.bind(i + 13, int64_t{c.creator_pid}).bind(i + 14, c.creator_start);
  if (std::string x = listing_json(c); x.empty())
    st.bind_null(i + 15);
  else
    st.bind(i + 15, x);
}

// A row of `SELECT id, name, created, <kListingColumns>`.
Container read_listing(const Statement& st) {
  Container c;
  if (!st.is_null(18)) {
    auto x = nlohmann::json::parse(st.text(18), nullptr, false);
    if (!x.is_object()) throw Error("container listing is not a JSON object", ErrorKind::Corrupt);
    from_json(x, c);
  }
  c.id = st.text(0);
  c.name = st.text(1);
  c.created = st.text(2);
  c.config.image = st.text(3);
  c.image_id = st.text(4);
  c.path = st.text(5);
  c.host.init = st.integer(6) != 0;
  c.host.network_mode = st.text(7);
  c.state.status = st.text(8);
  c.state.pid = static_cast<int>(st.integer(9));
  c.state.exit_code = static_cast<int>(st.integer(10));
  c.state.oom_killed = st.integer(11) != 0;
  c.state.error = st.text(12);
  c.state.started_at = st.text(13);
  c.state.finished_at = st.text(14);
  c.restart_count = static_cast<int>(st.integer(15));
  c.creator_pid = static_cast<int>(st.integer(16));
  c.creator_start = st.text(17);
  c.listing_only = true;
  return c;
}

// "?, ?, ..." for n parameters.
std::string params(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

}  // namespace

ContainerStore::ContainerStore(Database& db) : db_(db) {
  db_.exec(
      "CREATE TABLE IF NOT EXISTS containers ("
      " id TEXT PRIMARY KEY,"
      " name TEXT NOT NULL UNIQUE,"
      " created TEXT NOT NULL,"
      " record TEXT NOT NULL,"
      " image TEXT, image_id TEXT, path TEXT, init INTEGER, network_mode TEXT, status TEXT, pid INTEGER,"
      " exit_code INTEGER, oom_killed INTEGER, error TEXT, started_at TEXT, finished_at TEXT,"
      " restart_count INTEGER, creator_pid INTEGER, creator_start TEXT, listing TEXT)");
  add_listing_columns();
}

bool ContainerStore::has_listing_columns() {
  auto st = db_.prepare("SELECT count(*) FROM pragma_table_info('containers') WHERE name = 'listing'");
  return st.step() && st.integer(0) == 1;
}

// A berth.db from before the listing columns: they are added and filled
// from each record, once, in one transaction (a second CLI doing the same
// at once finds them there after its BEGIN IMMEDIATE).
void ContainerStore::add_listing_columns() {
  if (has_listing_columns()) return;
  Transaction t(db_);
  if (has_listing_columns()) return;
  for (const char* col : {"image TEXT", "image_id TEXT", "path TEXT", "init INTEGER", "network_mode TEXT",
                          "status TEXT", "pid INTEGER", "exit_code INTEGER", "oom_killed INTEGER", "error TEXT",
                          "started_at TEXT", "finished_at TEXT", "restart_count INTEGER", "creator_pid INTEGER",
                          "creator_start TEXT", "listing TEXT"})
    db_.exec(std::string("ALTER TABLE containers ADD COLUMN ") + col);
  std::vector<Container> all;
  {
    auto st = db_.prepare("SELECT record FROM containers");
    while (st.step()) all.push_back(parse(st.text(0)));
  }
  for (const auto& c : all) {
    auto st = db_.prepare(std::string("UPDATE containers SET (") + kListingColumns + ") = (" +
                          params(kListingCount) + ") WHERE id = ?");
    bind_listing(st, 1, c);
    st.bind(kListingCount + 1, c.id).run();
  }
  t.commit();
}

void ContainerStore::insert(const Container& c) {
  Transaction t(db_);
  if (auto other = id_of_name(c.name))
    throw Error("Conflict. The container name \"/" + c.name + "\" is already in use by container \"" + *other +
                    "\". You have to remove (or rename) that container to be able to reuse that name.",
                ErrorKind::AlreadyExists);
  auto st = db_.prepare(std::string("INSERT INTO containers (id, name, created, record, ") + kListingColumns +
                        ") VALUES (?, ?, ?, ?, " + params(kListingCount) + ")");
  st.bind(1, c.id).bind(2, c.name).bind(3, c.created).bind(4, encode(c));
  bind_listing(st, 5, c);
  st.run();
  t.commit();
}

void ContainerStore::update(const Container& c) {
  if (c.listing_only) throw Error("internal: container " + c.id + ": a listing row is not a whole record");
  Transaction t(db_);
  if (auto other = id_of_name(c.name); other && *other != c.id)
    throw Error("Conflict. The container name \"/" + c.name + "\" is already in use by container \"" + *other +
                    "\". You have to remove (or rename) that container to be able to reuse that name.",
                ErrorKind::AlreadyExists);
  auto st = db_.prepare(std::string("UPDATE containers SET name = ?, record = ?, (") + kListingColumns +
                        ") = (" + params(kListingCount) + ") WHERE id = ?");
  st.bind(1, c.name).bind(2, encode(c));
  bind_listing(st, 3, c);
  st.bind(3 + kListingCount, c.id).run();
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

std::vector<Container> ContainerStore::listing() {
  std::vector<Container> out;
  {
    auto n = db_.prepare("SELECT count(*) FROM containers");
    if (n.step()) out.reserve(static_cast<size_t>(n.integer(0)));  // grown, its copies would be faulted in too
  }
  auto st = db_.prepare(std::string("SELECT id, name, created, ") + kListingColumns +
                        " FROM containers ORDER BY created DESC");
  while (st.step()) out.push_back(read_listing(st));
  return out;
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
