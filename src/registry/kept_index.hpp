// The multi-platform index a reference was pulled with (registry pull
// keeps its bytes in the content store and notes here which reference it
// came by), for `berth push --all-platforms`. The image store keeps one
// platform per image record and knows nothing of indexes; this note lives
// beside it, <root>/registry-indexes/<sha256 of the reference>. Garbage
// collection may take the index blob (no image names it): a push then
// asks for the pull again.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace berth::registry {

void remember_index(const std::string& root, const std::string& reference, const std::string& index_digest);
std::optional<std::string> remembered_index(const std::string& root, const std::string& reference);
// Every index digest noted (for a reference tagged anew: the index that lists its manifest).
std::vector<std::string> remembered_indexes(const std::string& root);

}  // namespace berth::registry
