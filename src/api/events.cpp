// GET /events: the engine's event log (engine/events.hpp), streamed as
// JSON lines, with docker's filters (type, container, event, image, label).
#include <time.h>

#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "api/server.hpp"
#include "api/stream_io.hpp"
#include "common/json_text.hpp"
#include "engine/container_engine.hpp"
#include "engine/events.hpp"

namespace berth::api {

using nlohmann::json;

namespace {

bool matches(const json& e, const std::map<std::string, std::vector<std::string>>& f) {
  const json actor = e.value("Actor", json::object());
  const json attrs = actor.value("Attributes", json::object());
  auto any = [&](const char* key, const std::function<bool(const std::string&)>& ok) { return filter_passes(f, key, ok); };
  std::string id = actor.value("ID", "");
  return any("type", [&](const std::string& v) { return e.value("Type", "") == v; }) &&
         any("event", [&](const std::string& v) { return e.value("Action", "") == v; }) &&
         any("container", [&](const std::string& v) {
           return e.value("Type", "") == "container" && (id.rfind(v, 0) == 0 || attrs.value("name", "") == v);
         }) &&
         any("image", [&](const std::string& v) { return attrs.value("image", "") == v; }) &&
         any("label", [&](const std::string& v) {
           auto eq = v.find('=');
           std::string k = v.substr(0, eq);
           return attrs.contains(k) && (eq == std::string::npos || attrs.value(k, "") == v.substr(eq + 1));
         });
}

void events(Exchange& x) {
  auto f = x.req.filters();
  for (auto& [k, v] : f)
    if (k != "type" && k != "event" && k != "container" && k != "image" && k != "label")
      throw Error("invalid filter '" + k + "'", ErrorKind::InvalidArgument);
  engine::EventQuery q;
  q.since = engine::parse_time_bound(x.req.text("since"), "since");
  q.until = engine::parse_time_bound(x.req.text("until"), "until");
  // docker streams from now on unless asked for the past; with an until
  // in the past it answers what it has and ends.
  q.follow = !q.until || q.until > ::time(nullptr);
  if (!q.since && q.follow) q.since = ::time(nullptr);
  int fd = x.stream(200, "application/json");
  q.hangup_fd = fd;
  engine::read_events(x.server->options().root, q, [&](const json& e) {
    if (!matches(e, f)) return true;
    json out = e;
    // the fields of API < 1.22 that clients still read
    if (out.value("Type", "") == "container") {
      out["status"] = out.value("Action", "");
      out["id"] = out["Actor"].value("ID", "");
      out["from"] = out["Actor"]["Attributes"].value("image", "");
    }
    return send_all(fd, json_text(out) + "\n");
  });
}

}  // namespace

void add_event_routes(Router& r) { r.add("GET", "/events", events); }

}  // namespace berth::api
