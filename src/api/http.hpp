// What a handler of the Engine API sees of an HTTP exchange: the parsed
// request and a way to answer it. Boost.Beast stays inside server.cpp (the
// parser with its size limits, the response writer); handlers and the
// engine never include it, so the build stays lean.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.hpp"

namespace berth::engine {
class ContainerEngine;
}

namespace berth::api {

struct Request {
  std::string method;       // GET, POST, ... (HEAD is answered as GET without a body)
  std::string path;         // without the /v1.xx prefix and the query
  std::string api_version;  // from the prefix; "" when none
  std::map<std::string, std::string> query;    // decoded; the last of repeated keys
  std::vector<std::pair<std::string, std::string>> query_list;  // all, in order (names=a&names=b)
  std::map<std::string, std::string> headers;  // names lower-case
  std::map<std::string, std::string> params;   // {id}, {name} of the route
  std::string body;   // JSON bodies (size-limited)
  int body_fd = -1;   // uploads (tar streams): a temp file at offset 0, or -1

  std::string param(const std::string& k) const;
  // Query values as docker's clients send them ("1"/"true", numbers).
  bool flag(const std::string& k, bool dflt = false) const;
  int64_t number(const std::string& k, int64_t dflt) const;
  std::string text(const std::string& k, const std::string& dflt = "") const;
  std::vector<std::string> all(const std::string& k) const;
  // The JSON body: an object ({} when empty); a malformed one is
  // InvalidArgument ("malformed JSON body: ...").
  nlohmann::json json_body() const;
  // docker's `filters` query ({"status":["running"],...} or the old
  // {"status":{"running":true}}): name -> values.
  std::map<std::string, std::vector<std::string>> filters() const;
};

// docker's filter rule: a filter KEY that was not given passes; one that
// was passes when `ok` holds for any of its values.
bool filter_passes(const std::map<std::string, std::vector<std::string>>& filters, const char* key,
                   const std::function<bool(const std::string&)>& ok);
// The request target ("/v1.43/containers/json?all=1&filters=..."), as the
// client wrote it, into req: path (decoded, the /vX.Y prefix cut off into
// api_version), query and query_list. Pure (the fuzz target api_request
// feeds it bytes).
void parse_target(const std::string& target, Request& req);
// "1.43" -> 1043, for comparisons; -1 when it is not N.N (each part at
// most 6 digits).
int version_number(const std::string& v);

class Server;

// One answer to one request. Exactly one of reply()/stream()/hijack().
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void reply(int status, std::string_view content_type, std::string_view body) = 0;
  // Writes the status line and headers of a body of unknown length; the
  // returned fd (the connection) carries the body and is closed after.
  virtual int stream(int status, std::string_view content_type) = 0;
  // docker's hijack: "101 UPGRADED" (the client asked for Upgrade: tcp) or
  // "200 OK", then the raw connection both ways. Bytes the client sent
  // after its request are in `early`.
  virtual int hijack(std::string_view content_type, std::string* early) = 0;
  // True once the client has hung up (a streaming handler polls it).
  virtual bool client_gone() = 0;

  void json(int status, const nlohmann::json& j);
  void no_content() { reply(204, "", ""); }

  Request req;
  std::string extra_headers;  // "Name: value\r\n" lines added to the answer
  engine::ContainerEngine* engine = nullptr;
  Server* server = nullptr;
};

// docker's status for an error kind (404 no such object, 409 conflict, ...).
int status_of(ErrorKind k);

// An error whose status is none of status_of's: docker's 403 for a
// network in use or a predefined one.
class StatusError : public Error {
 public:
  StatusError(int status, const std::string& msg) : Error(msg, ErrorKind::FailedPrecondition), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

}  // namespace berth::api
