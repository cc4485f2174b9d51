// /volumes: list, create, inspect, remove, prune (the engine's Volumes,
// docker's "local" driver).
#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "api/server.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"

namespace berth::api {

using nlohmann::json;

namespace {

std::vector<std::string> users(Exchange& x, const std::string& name) {
  std::vector<std::string> out;
  for (auto& c : x.engine->list({.all = true}))
    for (auto& m : c.mounts)
      if (m.type == "volume" && m.name == name) out.push_back(c.id);
  return out;
}

void list(Exchange& x) {
  auto f = x.req.filters();
  json vols = json::array();
  for (auto& v : x.engine->volumes().list()) {
    if (f.count("name")) {
      bool any = false;
      for (auto& n : f["name"]) any |= v.name.find(n) != std::string::npos;
      if (!any) continue;
    }
    if (f.count("dangling")) {
      bool want = f["dangling"].at(0) == "true" || f["dangling"].at(0) == "1";
      if (want != users(x, v.name).empty()) continue;
    }
    vols.push_back(engine::volume_view(v));
  }
  x.json(200, {{"Volumes", vols}, {"Warnings", json::array()}});
}

void create(Exchange& x) {
  json b = x.req.json_body();
  std::string driver = b.value("Driver", "");
  if (!driver.empty() && driver != "local")
    throw Error("volume driver \"" + driver + "\" is not supported by berth (local only)", ErrorKind::InvalidArgument);
  if (b.contains("DriverOpts") && b["DriverOpts"].is_object() && !b["DriverOpts"].empty())
    throw Error("volume driver options are not supported by berth", ErrorKind::InvalidArgument);
  std::map<std::string, std::string> labels;
  if (b.contains("Labels") && b["Labels"].is_object()) labels = b["Labels"].get<std::map<std::string, std::string>>();
  std::string name = b.contains("Name") && b["Name"].is_string() ? b["Name"].get<std::string>() : "";
  auto v = x.engine->volumes().create(name, labels);
  x.json(201, engine::volume_view(v));
}

void inspect(Exchange& x) {
  auto v = x.engine->volumes().find(x.req.param("name"));
  if (!v) throw Error("get " + x.req.param("name") + ": no such volume", ErrorKind::NotFound);
  x.json(200, engine::volume_view(*v));
}

void remove(Exchange& x) {
  std::string name = x.req.param("name");
  x.engine->volumes().remove(name, users(x, name), x.req.flag("force"));
  x.no_content();
}

void prune(Exchange& x) {
  json deleted = json::array();
  for (auto& v : x.engine->volumes().list()) {
    if (!users(x, v.name).empty()) continue;
    // docker prunes only anonymous volumes unless all=true (API 1.42+)
    if (!v.anonymous && !(x.req.filters().count("all"))) continue;
    try {
      x.engine->volumes().remove(v.name, {}, false);
      deleted.push_back(v.name);
    } catch (const Error&) {
    }
  }
  x.json(200, {{"VolumesDeleted", deleted}, {"SpaceReclaimed", 0}});
}

}  // namespace

void add_volume_routes(Router& r) {
  r.add("GET", "/volumes", list);
  r.add("POST", "/volumes/create", create);
  r.add("POST", "/volumes/prune", prune);
  r.add("GET", "/volumes/{name}", inspect);
  r.add("DELETE", "/volumes/{name}", remove);
}

}  // namespace berth::api
