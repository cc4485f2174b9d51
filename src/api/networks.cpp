// /networks: docker's networks arrive with berth's (branch net). Until
// then each endpoint answers 501 in docker's error shape; the container
// endpoints take NetworkMode "default"/"bridge" as berth's default mode.
#include "api/not_yet.hpp"
#include "api/router.hpp"

namespace berth::api {

void add_network_routes(Router& r) {
  auto stub = [](const char* what) { return [what](Exchange&) { not_implemented_yet(what); }; };
  r.add("GET", "/networks", stub("networks (list)"));
  r.add("POST", "/networks/create", stub("networks (create)"));
  r.add("POST", "/networks/prune", stub("networks (prune)"));
  // No network can exist yet: an inspect is a plain 404, so that `docker
  // inspect NAME` (which tries containers, images, networks, volumes in
  // turn) ends with docker's "No such object" rather than a 501.
  r.add("GET", "/networks/{id}", [](Exchange& x) {
    throw Error("network " + x.req.param("id") + " not found", ErrorKind::NotFound);
  });
  r.add("DELETE", "/networks/{id}", stub("networks (remove)"));
  r.add("POST", "/networks/{id}/connect", stub("networks (connect)"));
  r.add("POST", "/networks/{id}/disconnect", stub("networks (disconnect)"));
}

}  // namespace berth::api
