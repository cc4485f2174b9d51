#include "build/url_fetch.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"

namespace berth::build {

namespace {

constexpr size_t kMaxBody = 1ul << 30;

UniqueFd connect_to(const std::string& host, const std::string& port, const std::string& url) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) throw Error("ADD " + url + ": resolve " + host + ": " + ::gai_strerror(rc), ErrorKind::NotFound);
  UniqueFd fd;
  int err = 0;
  for (auto* a = res; a; a = a->ai_next) {
    fd.reset(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd) continue;
    timeval tv{30, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) break;
    err = errno;
    fd.reset();
  }
  ::freeaddrinfo(res);
  if (!fd) throw_errno("ADD " + url + ": connect to " + host + ":" + port, err);
  return fd;
}

}  // namespace

Fetched fetch_url(const std::string& url, const std::string& checksum) {
  if (url.starts_with("https://"))
    throw Error("ADD " + url + ": https URLs are not supported yet (no TLS in berth; use http or fetch in a RUN)",
                ErrorKind::Unsupported);
  if (!url.starts_with("http://")) throw Error("ADD " + url + ": not an http URL", ErrorKind::InvalidArgument);
  std::string rest = url.substr(7);
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash), path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (auto q = path.find('#'); q != std::string::npos) path.resize(q);
  std::string host = hostport, port = "80";
  if (hostport.starts_with("[")) {
    auto close = hostport.find(']');
    if (close == std::string::npos) throw Error("ADD " + url + ": bad host", ErrorKind::InvalidArgument);
    host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = hostport.substr(close + 2);
  } else if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (host.empty() || hostport.find_first_of(" \r\n") != std::string::npos || path.find_first_of(" \r\n") != std::string::npos)
    throw Error("ADD " + url + ": bad URL", ErrorKind::InvalidArgument);
  UniqueFd fd = connect_to(host, port, url);
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + hostport + "\r\nUser-Agent: berth\r\nAccept: */*\r\n\r\n";
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::write(fd.get(), req.data() + off, req.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("ADD " + url + ": send the request");
    off += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("ADD " + url + ": read the response");
    if (n == 0) break;
    resp.append(buf, static_cast<size_t>(n));
    if (resp.size() > kMaxBody) throw Error("ADD " + url + ": more than 1 GiB", ErrorKind::InvalidArgument);
  }
  size_t head_end = resp.find("\r\n\r\n");
  if (head_end == std::string::npos || !resp.starts_with("HTTP/"))
    throw Error("ADD " + url + ": not an HTTP response", ErrorKind::Corrupt);
  std::string status = resp.substr(0, resp.find("\r\n"));
  auto sp = status.find(' ');
  if (sp == std::string::npos || status.compare(sp + 1, 3, "200") != 0)
    throw Error("ADD " + url + ": " + (sp == std::string::npos ? status : status.substr(sp + 1)), ErrorKind::NotFound);
  Fetched f;
  f.body = resp.substr(head_end + 4);
  if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
  f.file_name = path.substr(path.rfind('/') + 1);
  if (!checksum.empty()) {
    if (!checksum.starts_with("sha256:")) throw Error("--checksum " + checksum + ": only sha256:<hex> digests", ErrorKind::InvalidArgument);
    std::string got = sha256_digest(f.body);
    if (got != checksum)
      throw Error("ADD " + url + ": digest mismatch " + got + ": expected " + checksum, ErrorKind::Corrupt);
  }
  return f;
}

}  // namespace berth::build
