// berth-registry's `fetch`: ADD's http(s) sources, with docker's meaning
// (moby's builder/remotecontext): the file is named after the URL path's
// last element, else Content-Disposition's filename; its mtime is the
// answer's Last-Modified; `--checksum` must match the body. libcurl does
// the TLS (verified; the host's cert dir may add a CA, as for registries),
// which the static berth links none of.
#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "registry/distribution_client.hpp"
#include "registry/http_client.hpp"
#include "registry/remote_ops.hpp"

namespace berth::registry {

namespace {

// "https://user@host:port/path?q#f" -> host:port (the cert dir's name).
std::string host_port_of(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  return rest;
}

std::string path_of(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  auto slash = rest.find('/');
  if (slash == std::string::npos) return "/";
  std::string p = rest.substr(slash);
  return p.substr(0, p.find_first_of("?#"));
}

// Content-Disposition: attachment; filename="x.tar"  (the plain form only).
std::string disposition_name(const std::string& v) {
  auto at = v.find("filename=");
  if (at == std::string::npos) return "";
  std::string n = v.substr(at + 9);
  n = n.substr(0, n.find(';'));
  if (n.size() >= 2 && n.front() == '"' && n.back() == '"') n = n.substr(1, n.size() - 2);
  n = n.substr(n.find_last_of('/') == std::string::npos ? 0 : n.find_last_of('/') + 1);
  return n == "." || n == ".." ? "" : n;
}

}  // namespace

image::FetchResult fetch(const image::FetchRequest& req) {
  const std::string& url = req.url;
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    throw Error(url + ": not an http or https URL", ErrorKind::InvalidArgument);
  if (!req.checksum.empty() && !req.checksum.starts_with("sha256:"))
    throw Error("--checksum " + req.checksum + ": only sha256:<hex> digests", ErrorKind::InvalidArgument);
  std::string host = host_port_of(url);
  if (host.empty()) throw Error(url + ": no host in the URL", ErrorKind::InvalidArgument);
  if (req.dest.empty()) throw Error("fetch: no destination file", ErrorKind::InvalidArgument);

  UniqueFd out(::open(req.dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) throw_errno("create " + req.dest);
  // Whatever goes wrong below, the half-written file goes.
  struct Unlink {
    const std::string& path;
    bool keep = false;
    ~Unlink() {
      if (!keep) ::unlink(path.c_str());
    }
  } cleanup{req.dest};

  HttpClient http(tls_files_from(req.access.cert_dir.empty() ? default_cert_dir(host) : req.access.cert_dir));
  Sha256 hash;
  int64_t size = 0;
  HttpRequest hr;
  hr.url = url;
  hr.sink = [&](const char* p, size_t n) {
    size += static_cast<int64_t>(n);
    if (size > req.max_size)
      throw Error(url + ": the body is larger than " + std::to_string(req.max_size >> 20) + " MiB", ErrorKind::InvalidArgument);
    hash.update(p, n);
    for (size_t off = 0; off < n;) {
      ssize_t w = ::write(out.get(), p + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw_errno("write " + req.dest);
      off += static_cast<size_t>(w);
    }
    return true;
  };
  HttpResponse resp;
  try {
    resp = http.perform(hr);
  } catch (const TransportError& e) {
    if (e.certificate_problem())
      throw Error(url + ": TLS certificate not trusted (" + e.message() + "); put the CA that signed it in " +
                      default_cert_dir(host) + "/ca.crt",
                  ErrorKind::FailedPrecondition);
    throw Error(url + ": cannot be fetched: " + e.message(), ErrorKind::FailedPrecondition);
  }
  if (resp.status < 200 || resp.status >= 300)
    throw Error(url + ": the server answered HTTP " + std::to_string(resp.status), ErrorKind::NotFound);
  if (::fsync(out.get()) != 0) throw_errno("fsync " + req.dest);

  image::FetchResult r;
  r.size = size;
  r.digest = "sha256:" + hash.hex();
  if (!req.checksum.empty() && r.digest != req.checksum)
    throw Error(url + ": digest mismatch " + r.digest + ": expected " + req.checksum, ErrorKind::Corrupt);
  std::string path = path_of(url);
  r.file_name = path.substr(path.rfind('/') + 1);
  if (r.file_name.empty()) r.file_name = disposition_name(resp.header("content-disposition"));
  if (auto lm = resp.header("last-modified"); !lm.empty()) {
    time_t t = curl_getdate(lm.c_str(), nullptr);
    if (t >= 0) r.last_modified = t;
  }
  cleanup.keep = true;
  return r;
}

}  // namespace berth::registry
