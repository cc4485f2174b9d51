// The Engine API's request handling before any engine call (src/api/):
// the request target (parse_target: path decoding, the /vX.Y prefix and
// version_number, the query), the route table (Router::match over every
// route `berth serve` registers), the query helpers (flag, number,
// filters) and POST /containers/create's JSON body into the engine's
// request (parse_create_request: Config and HostConfig, binds, tmpfs,
// ulimits, ID maps...). Any local client of the socket writes these bytes.
// Input: "METHOD TARGET\n" then the body.
// Errors: berth::Error, and nlohmann::json::exception, which the server's
// dispatch answers as 400 "bad parameter: ..." (server.cpp); anything else
// (a 500), a crash or UB is a bug. Beyond that: a matched route's method
// is the request's (GET for HEAD), and every {param} of its pattern is filled.
#include <nlohmann/json.hpp>
#include <string>

#include "api/router.hpp"
#include "engine/container_engine.hpp"
#include "fuzz_support.hpp"

using namespace berth;
using namespace berth::api;

namespace {

const Router& routes() {
  static const Router r = [] {
    Router x;
    add_system_routes(x);
    add_container_routes(x);
    add_container_io_routes(x);
    add_exec_routes(x);
    add_image_routes(x);
    add_volume_routes(x);
    add_event_routes(x);
    add_network_routes(x);
    add_build_routes(x);
    add_distribution_routes(x);
    return x;
  }();
  return r;
}

// As the server's dispatch: Error and json::exception are answers.
template <class Fn>
void answered(Fn&& fn) {
  fuzz::reject([&] {
    try {
      fn();
    } catch (const nlohmann::json::exception&) {
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  std::string body(nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1));
  auto sp = line.find(' ');
  Request req;
  req.method = std::string(line.substr(0, sp));
  std::string target(sp == std::string_view::npos ? std::string_view("/") : line.substr(sp + 1));
  answered([&] { parse_target(target, req); });
  req.body = body;
  int v = version_number(req.api_version);
  FUZZ_CHECK(v >= -1, std::to_string(v));
  bool known = false;
  const Route* r = routes().match(req.method, req.path, req.params, &known);
  if (r) {
    FUZZ_CHECK(r->method == req.method || (req.method == "HEAD" && r->method == "GET"), r->method);
    for (const auto& part : r->parts)
      if (part.size() > 2 && part.front() == '{')
        FUZZ_CHECK(req.params.count(part.substr(1, part.size() - 2 - (part[part.size() - 2] == '*'))), part);
  }
  answered([&] { (void)req.flag("all"); });
  answered([&] { (void)req.number("limit", -1); });
  answered([&] { (void)req.filters(); });
  answered([&] { (void)req.all("names"); });
  // Every body as a container create's (the route need not match: the
  // body parser is what is fuzzed).
  answered([&] {
    engine::CreateRequest cr = parse_create_request(req);
    FUZZ_CHECK(!cr.config.image.empty(), "create without an image");
    FUZZ_CHECK(cr.name.empty() || cr.name[0] != '/', cr.name);
  });
  return 0;
}
