// /images: list, inspect, remove, tag, history, load, get (save) and
// import (create?fromSrc=-). Pull and push are distribution.cpp's.
#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "api/server.hpp"
#include "api/stream_io.hpp"
#include "common/json_text.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"
#include "image/reference.hpp"
#include "image/rootfs_import.hpp"

namespace berth::api {

using nlohmann::json;

namespace {

image::ImageRecord resolve(Exchange& x, const std::string& name) {
  auto f = x.engine->images().find(name);
  if (!f) throw Error("No such image: " + name, ErrorKind::NotFound);
  return *f;
}

void list(Exchange& x) {
  auto f = x.req.filters();
  auto& store = x.engine->images();
  json out = json::array();
  for (auto& img : store.list()) {
    if (f.count("dangling")) {
      bool want = f["dangling"].at(0) == "true" || f["dangling"].at(0) == "1";
      if (want != img.tags.empty()) continue;
    }
    if (f.count("reference")) {
      bool any = false;
      for (auto& t : img.tags) {
        auto r = image::parse_reference(t);
        for (auto& want : f["reference"]) {
          auto w = image::parse_reference(want, false);
          any |= r.name() == w.name() && (w.tag.empty() || w.tag == r.tag);
        }
      }
      if (!any) continue;
    }
    out.push_back(engine::image_summary(store, img));
  }
  x.json(200, out);
}

void inspect(Exchange& x) {
  auto img = resolve(x, x.req.param("name"));
  x.json(200, engine::image_inspect_view(x.engine->images(), img));
}

void history(Exchange& x) {
  auto img = resolve(x, x.req.param("name"));
  x.json(200, engine::image_history_view(x.engine->images(), img));
}

void remove(Exchange& x) {
  std::string name = x.req.param("name");
  resolve(x, name);
  auto rep = x.engine->images().remove(name, x.req.flag("force"));
  json out = json::array();
  for (auto& u : rep.untagged) out.push_back({{"Untagged", u}});
  for (auto& d : rep.deleted) out.push_back({{"Deleted", d}});
  x.json(200, out);
}

void tag(Exchange& x) {
  std::string repo = x.req.text("repo"), t = x.req.text("tag");
  if (repo.empty()) throw Error("repository name must have at least one component", ErrorKind::InvalidArgument);
  resolve(x, x.req.param("name"));
  x.engine->images().tag(x.req.param("name"), t.empty() ? repo : repo + ":" + t);
  x.reply(201, "", "");
}

void load(Exchange& x) {
  if (x.req.body_fd < 0) throw Error("no image archive in the request body", ErrorKind::InvalidArgument);
  auto imgs = x.engine->images().load_fd(x.req.body_fd, "request body");
  std::string body;
  for (auto& img : imgs) {
    if (img.tags.empty()) {
      body += json_text(json{{"stream", "Loaded image ID: " + img.id + "\n"}}) + "\n";
      continue;
    }
    for (auto& t : img.tags)
      body += json_text(json{{"stream", "Loaded image: " + image::parse_reference(t).familiar() + "\n"}}) + "\n";
  }
  x.reply(200, "application/json", body);
}

void save(Exchange& x, std::vector<std::string> names) {
  if (names.empty()) throw Error("no image names given", ErrorKind::InvalidArgument);
  for (auto& n : names) resolve(x, n);
  int fd = x.stream(200, "application/x-tar");
  x.engine->images().save(names, "docker-archive", fd);
}

void get_many(Exchange& x) { save(x, x.req.all("names")); }
void get_one(Exchange& x) { save(x, {x.req.param("name")}); }

void create(Exchange& x) {
  if (!x.req.text("fromImage").empty()) return pull_image(x);
  std::string src = x.req.text("fromSrc");
  if (src.empty()) throw Error("fromImage or fromSrc is required", ErrorKind::InvalidArgument);
  if (src != "-") throw Error("import from a URL is not supported (send the tar as the body: fromSrc=-)",
                              ErrorKind::Unsupported);
  if (x.req.body_fd < 0) throw Error("no tar archive in the request body", ErrorKind::InvalidArgument);
  image::ImportOptions o;
  std::string repo = x.req.text("repo"), t = x.req.text("tag");
  if (!repo.empty()) o.refs.push_back(t.empty() ? repo : repo + ":" + t);
  o.comment = x.req.text("message", "Imported from -");
  for (auto& ch : x.req.all("changes")) image::apply_import_change(o.config, ch);
  auto img = image::import_rootfs(x.engine->images(), x.req.body_fd, o);
  x.reply(200, "application/json", json_text(json{{"status", img.id}}) + "\n");
}

void prune(Exchange& x) {
  auto f = x.req.filters();
  bool all = f.count("dangling") && (f["dangling"].at(0) == "false" || f["dangling"].at(0) == "0");
  image::GcReport gc;
  auto rep = x.engine->images().prune(all, &gc);
  json del = json::array();
  for (auto& u : rep.untagged) del.push_back({{"Untagged", u}});
  for (auto& d : rep.deleted) del.push_back({{"Deleted", d}});
  x.json(200, {{"ImagesDeleted", del}, {"SpaceReclaimed", gc.bytes}});
}

}  // namespace

void add_image_routes(Router& r) {
  r.add("GET", "/images/json", list);
  r.add("POST", "/images/load", load, BodyKind::Upload);
  r.add("GET", "/images/get", get_many);
  r.add("POST", "/images/create", create, BodyKind::Upload);
  r.add("POST", "/images/prune", prune);
  r.add("GET", "/images/{name*}/json", inspect);
  r.add("GET", "/images/{name*}/history", history);
  r.add("GET", "/images/{name*}/get", get_one);
  r.add("POST", "/images/{name*}/tag", tag);
  r.add("DELETE", "/images/{name*}", remove);
}

}  // namespace berth::api
