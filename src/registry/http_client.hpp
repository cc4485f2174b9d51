// One HTTP(S) connection to registries, through libcurl (Debian's, with
// OpenSSL). TLS verification is always on; extra CAs and a client
// certificate come from the registry's cert dir (registry/endpoint.hpp).
// A client is used by one thread at a time; it keeps its connection alive
// between requests. Only berth-registry links this (docs/architecture.md).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::registry {

struct TlsFiles {
  std::string ca_file;                  // extra CA (added to the system's)
  std::string client_cert, client_key;  // mutual TLS
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // Body: `body`, or `body_size` bytes of `body_fd` from `body_offset`.
  std::string body;
  int body_fd = -1;
  int64_t body_offset = 0, body_size = 0;
  // Called with bytes of a 2xx answer as they come (false aborts); without
  // it the body is collected into HttpResponse::body. Bodies of other
  // answers are always collected (they carry the registry's error).
  std::function<bool(const char*, size_t)> sink;
  // Called once, before the first byte given to `sink`, with the answer's
  // status and headers.
  std::function<void(long status, const std::map<std::string, std::string>& headers)> on_answer;
  std::function<void(int64_t done)> upload_progress;
  bool follow_redirects = true;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A request that got no HTTP answer (refused, timed out, TLS failed).
class TransportError : public Error {
 public:
  TransportError(std::string msg, int curl_code, bool certificate)
      : Error(std::move(msg), ErrorKind::FailedPrecondition), curl_code_(curl_code), certificate_(certificate) {}
  int curl_code() const { return curl_code_; }
  // The peer's certificate was refused (unknown CA, wrong name, expired):
  // never a reason to try plain HTTP.
  bool certificate_problem() const { return certificate_; }
  // TLS was refused by something that is not a TLS server.
  bool tls_handshake_failed() const;

 private:
  int curl_code_;
  bool certificate_;
};

class HttpClient {
 public:
  explicit HttpClient(TlsFiles tls = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpResponse perform(const HttpRequest& req);

 private:
  void* curl_;
  TlsFiles tls_;
};

}  // namespace berth::registry
