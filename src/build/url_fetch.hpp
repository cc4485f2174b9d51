// ADD's remote sources: http:// and https:// URLs, fetched by the
// berth-registry helper (libcurl; the static berth links no TLS) into a
// file under <root>/build-tmp/, then read here. Docker's meaning: the file
// is named after the URL, its mtime is the answer's Last-Modified, it is
// never unpacked, and `--checksum=sha256:...` must match the body.
#pragma once

#include <cstdint>
#include <string>

namespace berth::build {

struct Fetched {
  std::string body;
  std::string file_name;  // the URL path's last element, else Content-Disposition's ("" if none)
  int64_t mtime = -1;     // Last-Modified, seconds since the epoch; -1: none (now)
};

// `root` is the store's (the temporary file lives under it). InvalidArgument
// for a malformed URL or checksum, an error naming the URL for an unreachable
// host, a refused certificate or an answer other than 2xx; Corrupt when the
// body does not match `checksum`. Nothing is left behind on failure.
Fetched fetch_url(const std::string& root, const std::string& url, const std::string& checksum);

}  // namespace berth::build
