// pull, push, login and logout against registries: the work berth-registry
// does for image/registry_request.hpp's requests.
#pragma once

#include "image/image_store.hpp"
#include "image/registry_request.hpp"

namespace berth::registry {

// Manifest (an index resolved to the platform asked for), config and
// layers, each verified against its digest before it lands in the store;
// layers download in parallel and unpack as they arrive; the image is
// recorded (and tagged) last, so a failure leaves no image behind.
image::PullResult pull(image::ImageStore& store, const image::PullRequest& req, const image::ProgressFn& progress);
// Blobs the registry lacks (HEAD first; a mount from another repository
// of the same registry when one of the store's images came from there),
// uploaded in parallel, then the manifest.
image::PushResult push(image::ImageStore& store, const image::PushRequest& req, const image::ProgressFn& progress);
// The descriptor of what a reference names, and its platforms, without
// pulling (GET /distribution/{name}/json).
image::RemoteDescriptor inspect(const image::InspectRequest& req);
// Checks the credentials against the registry, then stores them.
void login(const image::LoginRequest& req);
// False if there were no credentials for that registry.
bool logout(const image::LogoutRequest& req);
// ADD's http(s) sources (image/registry_request.hpp's FetchRequest).
image::FetchResult fetch(const image::FetchRequest& req);

}  // namespace berth::registry
