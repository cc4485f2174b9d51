// ADD's remote sources: an http:// URL fetched with a plain HTTP/1.0 GET
// (no proxy, no redirects), the body kept in memory. https:// is refused
// for now: the static `berth` links no TLS library yet.
#pragma once

#include <string>

namespace berth::build {

struct Fetched {
  std::string body;
  std::string file_name;  // the URL path's last element ("" if none)
};

// InvalidArgument for a malformed URL, Unsupported for https, an error
// naming the URL and the HTTP status for anything but 200. `checksum`
// ("sha256:<hex>"), if given, must match the body (Corrupt otherwise).
Fetched fetch_url(const std::string& url, const std::string& checksum);

}  // namespace berth::build
