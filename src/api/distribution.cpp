// Registries: pull (POST /images/create?fromImage=), push, /auth arrive
// with the registry client (branch registry); until then, 501 in docker's
// shape.
#include "api/not_yet.hpp"
#include "api/router.hpp"

namespace berth::api {

void pull_image(Exchange& x) {
  not_implemented_yet("pulling images (" + x.req.text("fromImage") + "); load them with docker load or berth load");
}

void add_distribution_routes(Router& r) {
  r.add("POST", "/images/{name*}/push", [](Exchange& x) { not_implemented_yet("pushing images (" + x.req.param("name") + ")"); });
  r.add("POST", "/auth", [](Exchange&) { not_implemented_yet("registry logins (POST /auth)"); });
  r.add("GET", "/distribution/{name*}/json", [](Exchange&) { not_implemented_yet("registry lookups"); });
}

}  // namespace berth::api
