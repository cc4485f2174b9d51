// Registry operations for the engine's callers (the CLI, `berth serve`, the
// Dockerfile builder): each runs the berth-registry executable found
// beside berth, hands it the request and relays its progress, so berth
// itself links no libcurl (docs/architecture.md, "Registries").
#pragma once

#include <string>

#include "image/image_store.hpp"
#include "image/registry_request.hpp"

namespace berth::engine {

image::PullResult pull_image(const std::string& root, const image::PullRequest& req,
                             const image::ProgressFn& progress = {});
image::PushResult push_image(const std::string& root, const image::PushRequest& req,
                             const image::ProgressFn& progress = {});
void registry_login(const image::LoginRequest& req);
// What a reference names in its registry, without pulling.
image::RemoteDescriptor inspect_remote(const image::InspectRequest& req);
// ADD's http(s) sources: the body lands in req.dest (nothing there on failure).
image::FetchResult fetch_url(const std::string& root, const image::FetchRequest& req);
bool registry_logout(const image::LogoutRequest& req);

// create's image resolution: pulls `image` when `policy` is "always", or
// "missing" and the store lacks it ("never": nothing). A failed pull is
// "No such image: IMAGE (pull: why)".
void pull_for_create(image::ImageStore& store, const std::string& image, const std::string& policy,
                     const image::ProgressFn& progress);

}  // namespace berth::engine
