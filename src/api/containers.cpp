// /containers: create, list, inspect, update and the lifecycle verbs,
// each one engine call (the same ones `berth run/ps/stop/...` make).
#include <algorithm>
#include <cstdint>
#include <ftw.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "api/router.hpp"
#include "api/server.hpp"
#include "common/json_text.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"
#include "engine/mount_spec.hpp"

namespace berth::api {

using nlohmann::json;
using engine::Container;

namespace {

bool is_running(engine::ContainerEngine& e, const std::string& ref) { return e.inspect(ref).state.running(); }

// docker's SizeRw: the bytes of the files in the container's writable
// layer (its overlay upper dir; a hard link counted once), and SizeRootFs:
// that plus its image's.
thread_local std::set<std::pair<dev_t, ino_t>>* seen_inodes = nullptr;
thread_local int64_t upper_bytes = 0;

int add_file(const char*, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_F || type == FTW_SL) {
    if (st->st_nlink <= 1 || seen_inodes->insert({st->st_dev, st->st_ino}).second) upper_bytes += st->st_size;
  }
  return 0;
}

void add_sizes(engine::ContainerEngine& e, const Container& c, json& j) {
  std::set<std::pair<dev_t, ino_t>> seen;
  seen_inodes = &seen;
  upper_bytes = 0;
  std::string upper = e.container_dir(c.id) + "/upper";
  if (::access(upper.c_str(), F_OK) == 0) ::nftw(upper.c_str(), add_file, 32, FTW_PHYS);
  int64_t image = 0;
  try {
    if (auto img = e.images().find(c.image_id)) image = img->size;
  } catch (const Error&) {
  }
  j["SizeRw"] = upper_bytes;
  j["SizeRootFs"] = upper_bytes + image;
}

// HostConfig as docker's clients send it, into the engine's HostConfig.
engine::HostConfig host_config(const json& hc) {
  engine::HostConfig h;
  json j = hc;
  // Mounts: docker's TmpfsOptions become the engine's tmpfs options.
  if (j.contains("Mounts") && j["Mounts"].is_array())
    for (auto& m : j["Mounts"]) {
      if (m.value("Type", "") != "tmpfs" || !m.contains("TmpfsOptions") || !m["TmpfsOptions"].is_object()) continue;
      std::string opts;
      const auto& t = m["TmpfsOptions"];
      // Integers only: get<int64_t>() of a float like 1e300 is undefined
      // behaviour (seen while writing the fuzz target api_request).
      if (t.contains("SizeBytes") && t["SizeBytes"].is_number_integer() && t["SizeBytes"].get<int64_t>() > 0)
        opts = "size=" + std::to_string(t["SizeBytes"].get<int64_t>());
      if (t.contains("Mode") && t["Mode"].is_number_integer()) {
        std::ostringstream o;
        o << std::oct << (t["Mode"].get<int64_t>() & 07777);
        opts += (opts.empty() ? "" : ",") + std::string("mode=") + o.str();
      }
      m["Options"] = opts;
    }
  engine::from_json(j, h);
  if (j.contains("Binds") && j["Binds"].is_array()) {
    std::vector<engine::MountRequest> binds;
    for (auto& b : j["Binds"]) binds.push_back(engine::parse_bind_spec(b.get<std::string>()));
    h.mounts.insert(h.mounts.begin(), binds.begin(), binds.end());
  }
  // The docker CLI sends "default": docker's default bridge, which is
  // berth's network "bridge".
  // (The engine's HostConfig defaults to none: an absent NetworkMode too.)
  std::string mode = j.contains("NetworkMode") && j["NetworkMode"].is_string() ? j["NetworkMode"].get<std::string>() : "";
  if (mode.empty() || mode == "default") h.network_mode = engine::Networks::kDefault;
  if (j.contains("LogConfig") && j["LogConfig"].is_object()) {
    std::string type = j["LogConfig"].value("Type", "");
    if (!type.empty() && type != "json-file")
      throw Error("logging driver \"" + type + "\" is not supported by berth (json-file only)",
                  ErrorKind::InvalidArgument);
  }
  return h;
}

}  // namespace

engine::CreateRequest parse_create_request(const Request& req) {
  json b = req.json_body();
  engine::CreateRequest r;
  r.name = req.text("name");
  if (!r.name.empty() && r.name[0] == '/') r.name.erase(0, 1);
  engine::from_json(b, r.config);
  if (r.config.image.empty()) throw Error("Config.Image is required", ErrorKind::InvalidArgument);
  r.host = host_config(b.contains("HostConfig") && b["HostConfig"].is_object() ? b["HostConfig"] : json::object());
  // NetworkingConfig.EndpointsConfig: the endpoint on NetworkMode's network
  // (aliases, IPAMConfig.IPv4Address); docker connects to the others after
  // create, which berth leaves to /networks/{id}/connect.
  if (b.contains("NetworkingConfig") && b["NetworkingConfig"].is_object()) {
    const json& eps = b["NetworkingConfig"].value("EndpointsConfig", json::object());
    if (!eps.is_object()) throw Error("NetworkingConfig.EndpointsConfig: want an object", ErrorKind::InvalidArgument);
    if (eps.size() > 1)
      throw Error("Container cannot be connected to network endpoints: " + eps.begin().key() + " and more",
                  ErrorKind::InvalidArgument);
    for (auto& [net, ep] : eps.items()) {
      if (!ep.is_object()) continue;
      if ((net == "default" ? engine::Networks::kDefault : net) != r.host.network_mode)
        throw Error("NetworkingConfig.EndpointsConfig names network " + net + " but HostConfig.NetworkMode is " +
                        r.host.network_mode, ErrorKind::InvalidArgument);
      if (ep.contains("Aliases") && ep["Aliases"].is_array())
        for (auto& a : ep["Aliases"]) r.endpoint.aliases.push_back(a.get<std::string>());
      if (ep.contains("IPAMConfig") && ep["IPAMConfig"].is_object()) {
        r.endpoint.ip = ep["IPAMConfig"].value("IPv4Address", "");
        r.endpoint.ip6 = ep["IPAMConfig"].value("IPv6Address", "");
      }
    }
  }
  return r;
}

namespace {

void create(Exchange& x) {
  engine::CreateRequest r = parse_create_request(x.req);
  // An unknown network is 400, not the engine's 404: the docker CLI takes
  // a 404 from create for a missing image and pulls it.
  const std::string& mode = r.host.network_mode;
  if (mode != "none" && mode != "host" && !mode.starts_with("container:") && !x.engine->networks().find(mode))
    throw Error("network " + mode + " not found", ErrorKind::InvalidArgument);
  std::vector<std::string> warnings;
  std::string id = x.engine->create(r, &warnings);
  x.json(201, {{"Id", id}, {"Warnings", warnings}});
}

bool matches(const Container& c, const std::map<std::string, std::vector<std::string>>& f) {
  auto any = [&](const char* key, const std::function<bool(const std::string&)>& ok) { return filter_passes(f, key, ok); };
  return any("status", [&](const std::string& v) { return c.state.status == v; }) &&
         any("id", [&](const std::string& v) { return c.id.rfind(v, 0) == 0; }) &&
         any("name", [&](const std::string& v) { return c.name.find(v.rfind('/', 0) == 0 ? v.substr(1) : v) != std::string::npos; }) &&
         any("ancestor", [&](const std::string& v) { return c.config.image == v || c.image_id.find(v) != std::string::npos; }) &&
         any("exited", [&](const std::string& v) { return c.state.status == "exited" && std::to_string(c.state.exit_code) == v; }) &&
         any("label", [&](const std::string& v) {
           auto eq = v.find('=');
           auto it = c.config.labels.find(v.substr(0, eq));
           return it != c.config.labels.end() && (eq == std::string::npos || it->second == v.substr(eq + 1));
         });
}

void list(Exchange& x) {
  auto f = x.req.filters();
  for (auto& [k, v] : f)
    if (k != "status" && k != "id" && k != "name" && k != "ancestor" && k != "exited" && k != "label")
      throw Error("invalid filter '" + k + "'", ErrorKind::InvalidArgument);
  bool all = x.req.flag("all");
  int64_t limit = x.req.number("limit", -1);
  // a status filter other than running implies all, as docker's
  if (f.count("status") || f.count("exited")) all = true;
  auto cs = x.engine->list({.all = all || limit > 0, .last = -1});
  int64_t now = ::time(nullptr);
  json out = json::array();
  for (auto& c : cs) {
    if (!matches(c, f)) continue;
    if (limit > 0 && static_cast<int64_t>(out.size()) >= limit) break;
    json s = engine::container_summary(c, now);
    if (x.req.flag("size")) add_sizes(*x.engine, c, s);
    out.push_back(s);
  }
  x.json(200, out);
}

void inspect(Exchange& x) {
  auto& e = *x.engine;
  Container c = e.inspect(x.req.param("id"));
  json j = engine::inspect_view(c, e.container_dir(c.id), e.state_dir(c.id), e.log_path(c.id));
  if (x.req.flag("size")) add_sizes(e, c, j);
  x.json(200, j);
}

void start(Exchange& x) {
  auto& e = *x.engine;
  Container c = e.inspect(x.req.param("id"));
  if (c.state.running() && c.state.status != "paused") return x.reply(304, "", "");
  UniqueFd attach = x.server->attaches().take_for_start(c.id);
  e.start(c.id, {.attach_fd = attach.get()});
  x.no_content();
}

// Seconds; -1 for the container's own. Kept to int's range (no wrap of a
// huge t into a small one).
int timeout_of(Exchange& x) {
  int64_t t = x.req.query.count("t") ? x.req.number("t", -1) : x.req.number("timeout", -1);
  return static_cast<int>(std::clamp<int64_t>(t, -1, INT32_MAX));
}

void stop(Exchange& x) {
  auto& e = *x.engine;
  if (!is_running(e, x.req.param("id"))) return x.reply(304, "", "");
  e.stop(x.req.param("id"), timeout_of(x));
  x.no_content();
}

void restart(Exchange& x) {
  x.engine->restart(x.req.param("id"), timeout_of(x));
  x.no_content();
}

void kill(Exchange& x) {
  auto& e = *x.engine;
  Container c = e.inspect(x.req.param("id"));
  if (!c.state.running())
    throw Error("Cannot kill container: " + x.req.param("id") + ": Container " + c.id + " is not running",
                ErrorKind::FailedPrecondition);
  std::string sig = x.req.text("signal", "KILL");
  engine::parse_signal(sig);  // a bad one is 400 before anything happens
  e.kill(c.id, sig);
  x.no_content();
}

void wait(Exchange& x) {
  auto& e = *x.engine;
  std::string cond = x.req.text("condition", "not-running");
  e.inspect(x.req.param("id"));  // 404 before the 200
  // docker answers the status at once and the body when it happens: the
  // CLI starts the container only after its wait is in place.
  int fd = x.stream(200, "application/json");
  auto r = e.wait_for(x.req.param("id"), cond, fd);
  if (!r) return;  // the client hung up
  json j = {{"StatusCode", r->exit_code}};
  if (!r->error.empty()) j["Error"] = {{"Message", r->error}};
  std::string body = json_text(j) + "\n";
  [[maybe_unused]] auto n = ::send(fd, body.data(), body.size(), MSG_NOSIGNAL);
}

void remove(Exchange& x) {
  x.engine->remove(x.req.param("id"), x.req.flag("force"), x.req.flag("v"));
  x.no_content();
}

void pause(Exchange& x) {
  x.engine->pause(x.req.param("id"));
  x.no_content();
}

void unpause(Exchange& x) {
  x.engine->unpause(x.req.param("id"));
  x.no_content();
}

void rename(Exchange& x) {
  std::string name = x.req.text("name");
  if (name.empty()) throw Error("name is required", ErrorKind::InvalidArgument);
  x.engine->rename(x.req.param("id"), name);
  x.no_content();
}

void top(Exchange& x) {
  std::vector<std::string> args;
  std::istringstream in(x.req.text("ps_args"));
  for (std::string a; in >> a;) args.push_back(a);
  std::string out = x.engine->top(x.req.param("id"), args);
  std::istringstream lines(out);
  std::string line;
  json titles = json::array(), procs = json::array();
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(' ') == std::string::npos) continue;
    std::istringstream f(line);
    std::vector<std::string> cols;
    for (std::string w; f >> w;) cols.push_back(w);
    if (titles.empty()) {
      for (auto& c : cols) titles.push_back(c);
      continue;
    }
    // the last column (the command) keeps its spaces
    json row = json::array();
    size_t n = titles.size();
    for (size_t i = 0; i + 1 < n && i < cols.size(); ++i) row.push_back(cols[i]);
    std::string rest;
    for (size_t i = n - 1; i < cols.size(); ++i) rest += (rest.empty() ? "" : " ") + cols[i];
    row.push_back(rest);
    procs.push_back(row);
  }
  x.json(200, {{"Titles", titles}, {"Processes", procs}});
}

void update(Exchange& x) {
  json b = x.req.json_body();
  engine::ContainerEngine::Update u;
  // An integer or nothing: nlohmann's get<int64_t> of a float such as
  // 1e300 is undefined behaviour; docker answers 400 to it too.
  auto integer = [](const json& v, const std::string& k, int64_t lo, int64_t hi) {
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) ||
        v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      throw Error(k + ": want an integer, not " + v.dump().substr(0, 40), ErrorKind::InvalidArgument);
    return v.get<int64_t>();
  };
  auto num = [&](const char* k, std::optional<int64_t>& out) {
    if (!b.contains(k) || b[k].is_null()) return;
    int64_t n = integer(b[k], k, INT64_MIN, INT64_MAX);
    if (n != 0) out = n;
  };
  num("Memory", u.memory);
  num("MemorySwap", u.memory_swap);
  num("NanoCpus", u.nano_cpus);
  num("CpuShares", u.cpu_shares);
  num("PidsLimit", u.pids_limit);
  if (b.contains("RestartPolicy") && b["RestartPolicy"].is_object() &&
      !b["RestartPolicy"].value("Name", "").empty()) {
    engine::RestartPolicy p;
    p.name = b["RestartPolicy"].value("Name", "no");
    if (auto it = b["RestartPolicy"].find("MaximumRetryCount"); it != b["RestartPolicy"].end() && !it->is_null())
      p.maximum_retry_count = static_cast<int>(integer(*it, "RestartPolicy.MaximumRetryCount", 0, INT32_MAX));
    u.restart = p;
  }
  x.engine->update(x.req.param("id"), u);
  x.json(200, {{"Warnings", json::array()}});
}

void changes(Exchange& x) {
  json out = json::array();
  for (auto& [kind, path] : x.engine->diff(x.req.param("id")))
    out.push_back({{"Path", path}, {"Kind", kind == "C" ? 0 : kind == "A" ? 1 : 2}});
  x.json(200, out);
}

void prune(Exchange& x) {
  auto f = x.req.filters();
  json deleted = json::array();
  for (auto& c : x.engine->list({.all = true})) {
    if (c.state.running()) continue;
    if (f.count("label") && !matches(c, {{"label", f["label"]}})) continue;
    try {
      x.engine->remove(c.id, false, false);
      deleted.push_back(c.id);
    } catch (const Error&) {
      // started or removed meanwhile: not ours to prune
    }
  }
  x.json(200, {{"ContainersDeleted", deleted}, {"SpaceReclaimed", 0}});
}

}  // namespace

void add_container_routes(Router& r) {
  r.add("POST", "/containers/create", create);
  r.add("GET", "/containers/json", list);
  r.add("GET", "/containers/{id}/json", inspect);
  r.add("POST", "/containers/{id}/start", start);
  r.add("POST", "/containers/{id}/stop", stop);
  r.add("POST", "/containers/{id}/restart", restart);
  r.add("POST", "/containers/{id}/kill", kill);
  r.add("POST", "/containers/{id}/wait", wait);
  r.add("DELETE", "/containers/{id}", remove);
  r.add("POST", "/containers/{id}/pause", pause);
  r.add("POST", "/containers/{id}/unpause", unpause);
  r.add("POST", "/containers/{id}/rename", rename);
  r.add("GET", "/containers/{id}/top", top);
  r.add("POST", "/containers/{id}/update", update);
  r.add("GET", "/containers/{id}/changes", changes);
  r.add("POST", "/containers/prune", prune);
}

}  // namespace berth::api
