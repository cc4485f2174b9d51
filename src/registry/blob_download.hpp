// Downloading one blob into the content store, resumably.
//
// Bytes go to <root>/content/download/<hex> (flock'd while written, so two
// pulls of the same blob take turns and the second finds it stored). A
// partial file left by a killed pull or a dropped connection is hashed
// again and the download resumes from its end with a Range request. Only
// a blob whose size and digest match its descriptor is renamed into
// content/sha256/ (after fsync); one that does not is deleted, with a
// Corrupt error naming it. So the store only ever sees whole, verified
// blobs, and the next pull finishes what a failed one began.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "image/content_store.hpp"
#include "oci/image_spec.hpp"
#include "registry/distribution_client.hpp"

namespace berth::registry {

// Progress: (bytes so far, total).
using ByteProgress = std::function<void(int64_t, int64_t)>;

// Ensures blob `d` is in the store; false if it was there already.
// Retries a dropped connection (resuming) a few times while it makes
// progress. `what` names the blob in errors ("layer 2 of HOST/REPO").
bool download_blob(DistributionClient& client, const std::string& repo, const oci::Descriptor& d,
                   const std::string& root, const image::ContentStore& cs, const std::string& what,
                   const ByteProgress& progress);

}  // namespace berth::registry
