#include "build/url_fetch.hpp"

#include <unistd.h>

#include <random>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/registry_ops.hpp"

namespace berth::build {

Fetched fetch_url(const std::string& root, const std::string& url, const std::string& checksum) {
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    throw Error("ADD " + url + ": not an http or https URL", ErrorKind::InvalidArgument);
  if (!checksum.empty() && (!checksum.starts_with("sha256:") || checksum.size() != 71 ||
                            checksum.find_first_not_of("0123456789abcdef", 7) != std::string::npos))
    throw Error("--checksum " + checksum + ": not a sha256:<64 hex digits> digest", ErrorKind::InvalidArgument);
  if (url.find_first_of(" \r\n\t") != std::string::npos) throw Error("ADD " + url + ": bad URL", ErrorKind::InvalidArgument);
  std::random_device rd;
  char name[40];
  std::snprintf(name, sizeof name, "fetch-%08x%08x", rd(), rd());
  fs::mkdir_p(root + "/build-tmp", 0700);
  image::FetchRequest req;
  req.url = url;
  req.checksum = checksum;
  req.dest = root + "/build-tmp/" + name;
  struct Unlink {
    const std::string& p;
    ~Unlink() { ::unlink(p.c_str()); }
  } gone{req.dest};
  image::FetchResult r;
  try {
    r = engine::fetch_url(root, req);
  } catch (Error& e) {
    throw Error("ADD " + e.message(), e.kind());
  }
  Fetched f;
  f.body = fs::read_file(req.dest);
  f.file_name = r.file_name;
  f.mtime = r.last_modified;
  return f;
}

}  // namespace berth::build
