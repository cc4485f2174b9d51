// The Engine API's routes: method + path pattern -> handler. A segment
// "{id}" matches one path segment; "{name*}" one or more (image names have
// slashes: /images/docker.io/library/busybox/json).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/http.hpp"

namespace berth::engine {
struct CreateRequest;  // engine/container_engine.hpp
}

namespace berth::api {

// How a route's request body is read before the handler runs.
enum class BodyKind {
  Json,    // into Request::body, at most kMaxJsonBody
  Upload,  // spooled to a temp file (Request::body_fd), at most kMaxUpload
};

constexpr size_t kMaxHeader = 64 * 1024;
constexpr size_t kMaxJsonBody = 4 * 1024 * 1024;
constexpr uint64_t kMaxUpload = 64ull * 1024 * 1024 * 1024;

using Handler = std::function<void(Exchange&)>;

struct Route {
  std::string method;
  std::vector<std::string> parts;
  Handler handler;
  BodyKind body = BodyKind::Json;
};

class Router {
 public:
  void add(const std::string& method, const std::string& pattern, Handler h, BodyKind body = BodyKind::Json);
  // The route for method+path (params filled), or null. `*path_known`: some
  // route has this path under another method (405 rather than 404).
  const Route* match(const std::string& method, const std::string& path, std::map<std::string, std::string>& params,
                     bool* path_known) const;

 private:
  std::vector<Route> routes_;
};

// One per handler file.
void add_system_routes(Router& r);
void add_container_routes(Router& r);
void add_container_io_routes(Router& r);
void add_exec_routes(Router& r);
void add_image_routes(Router& r);
void add_volume_routes(Router& r);
void add_event_routes(Router& r);
void add_network_routes(Router& r);
void add_build_routes(Router& r);
void add_distribution_routes(Router& r);
// POST /images/create?fromImage=... (a pull), which shares its path with
// the import (images.cpp): distribution.cpp answers it.
void pull_image(Exchange& x);
// POST /containers/create: the query's name and the JSON body into the
// engine's request, nothing made yet (containers.cpp; pure, so the fuzz
// target api_request reaches it without an engine or a socket).
engine::CreateRequest parse_create_request(const Request& req);

}  // namespace berth::api
