#include "registry/http_client.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>

namespace berth::registry {

// A registry that cannot be reached fails within this (many machines are
// offline); a transfer that moves nothing for kStallSeconds is dropped.
static constexpr long kConnectTimeoutMs = 4000;
static constexpr long kStallSeconds = 30;

bool TransportError::tls_handshake_failed() const { return curl_code_ == CURLE_SSL_CONNECT_ERROR; }

static void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpClient::HttpClient(TlsFiles tls) : tls_(std::move(tls)) {
  global_init();
  curl_ = curl_easy_init();
  if (!curl_) throw Error("libcurl: cannot make a handle", ErrorKind::Internal);
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

namespace {

struct Transfer {
  const HttpRequest* req = nullptr;
  HttpResponse* resp = nullptr;
  CURL* curl = nullptr;
  int64_t sent = 0;
  bool aborted_by_sink = false;
  bool answered = false;
  std::exception_ptr thrown;  // by a callback: rethrown after curl returns
  std::string read_error;
};

size_t on_header(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view line(p, size * n);
  if (line.starts_with("HTTP/")) {  // a new answer (after a redirect or 100)
    t->resp->headers.clear();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  t->resp->headers[name] = std::string(v);
  return size * n;
}

size_t on_body(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && t->req->sink) {
    // Exceptions must not cross libcurl's C frames.
    try {
      if (!t->answered) {
        t->answered = true;
        if (t->req->on_answer) t->req->on_answer(status, t->resp->headers);
      }
      if (t->req->sink(p, size * n)) return size * n;
    } catch (...) {
      t->thrown = std::current_exception();
    }
    t->aborted_by_sink = true;
    return 0;
  }
  if (t->resp->body.size() < (64u << 20)) t->resp->body.append(p, size * n);
  return size * n;
}

size_t on_read(char* buf, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  const HttpRequest& r = *t->req;
  size_t want = std::min<int64_t>(size * n, r.body_size - t->sent);
  if (want == 0) return 0;
  ssize_t got;
  while ((got = ::pread(r.body_fd, buf, want, r.body_offset + t->sent)) < 0 && errno == EINTR) {
  }
  if (got <= 0) {
    t->read_error = got < 0 ? std::string("read: ") + strerror(errno) : "file shorter than expected";
    return CURL_READFUNC_ABORT;
  }
  t->sent += got;
  try {
    if (r.upload_progress) r.upload_progress(t->sent);
  } catch (...) {
    t->thrown = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
  return got;
}

int on_seek(void* ud, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(ud);
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  t->sent = offset;
  return CURL_SEEKFUNC_OK;
}

bool is_certificate_error(CURLcode c) {
  return c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_CACERT_BADFILE ||
         c == CURLE_SSL_ISSUER_ERROR || c == CURLE_SSL_PINNEDPUBKEYNOTMATCH || c == CURLE_SSL_INVALIDCERTSTATUS;
}

}  // namespace

HttpResponse HttpClient::perform(const HttpRequest& req) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  HttpResponse resp;
  Transfer t;
  t.req = &req, t.resp = &resp, t.curl = c;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/0.1");
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  // Only the registry's scheme: a redirect may go to storage over https
  // or http, never to file:// or others.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  if (!tls_.ca_file.empty()) {
    // With OpenSSL, CAINFO and CAPATH are both loaded: the registry's CA
    // is added to the system's, as docker's certs.d does.
    curl_easy_setopt(c, CURLOPT_CAINFO, tls_.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  if (!tls_.client_cert.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, tls_.client_cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, tls_.client_key.c_str());
  }
  curl_slist* headers = nullptr;
  for (auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.body_fd >= 0) {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body_size));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  if (t.thrown) std::rethrow_exception(t.thrown);
  if (rc != CURLE_OK) {
    if (t.aborted_by_sink) throw Error("download from " + req.url + " stopped", ErrorKind::Internal);
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (!t.read_error.empty()) detail = t.read_error;
    throw TransportError(req.method + " " + req.url + ": " + detail, rc, is_certificate_error(rc));
  }
  return resp;
}

}  // namespace berth::registry
