// What a registry's answers say, read apart from the HTTP that carried
// them: the error body of a refusal, what a manifest says it is, a page of
// tags and the link to the next one. Any registry, or whoever answers for
// one, writes these bytes; each function is pure (a fuzz target,
// tests/fuzz/registry_answers, feeds them arbitrary bytes) and throws only
// berth::Error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::registry {

// The messages of the registry API's error body, {"errors": [{"code",
// "message"}]}, joined by "; " (each error's message, else its code); ""
// when the body says nothing readable.
std::string error_message(std::string_view body);

// What a manifest says of itself: its mediaType member (over the
// Content-Type the registry sent, `content_type`) and schemaVersion (0
// when absent or not a small integer). Corrupt naming `what` when the
// bytes are not a JSON document.
struct ManifestKind {
  std::string media_type;
  int schema_version = 0;
};
ManifestKind sniff_manifest(std::string_view bytes, std::string_view content_type, const std::string& what);

// The tags of one page of /v2/REPO/tags/list ({"name", "tags": [...]}),
// strings only. Corrupt naming `what` when the body is not JSON.
std::vector<std::string> parse_tags(std::string_view body, const std::string& what);

// The target of a Link header's rel="next" (`</v2/r/tags/list?last=x&n=100>;
// rel="next"`), or "" when there is none: a path, or an absolute URL on
// the registry itself (`base`, "https://host:port"). Another host would
// get the request and the registry's credentials with it: refused,
// InvalidArgument naming `what`.
std::string next_link(std::string_view header, std::string_view base, const std::string& what);

}  // namespace berth::registry
