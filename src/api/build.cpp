// POST /build (the classic builder's tar context and JSON lines) arrives
// with berth build (branch build); until then, 501 in docker's shape.
#include "api/not_yet.hpp"
#include "api/router.hpp"

namespace berth::api {

void add_build_routes(Router& r) {
  r.add("POST", "/build", [](Exchange&) { not_implemented_yet("image builds (POST /build)"); }, BodyKind::Upload);
  r.add("POST", "/build/prune", [](Exchange&) { not_implemented_yet("build cache prune"); });
}

}  // namespace berth::api
