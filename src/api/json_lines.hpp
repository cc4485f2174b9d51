// docker's streamed JSON answers (pull, push, build, load): one JSON object
// a line. The status line is sent with the first object, so an error before
// any progress is still an ordinary error answer with its status (404 for
// an unknown image, 400 for a broken Dockerfile), as dockerd answers; an
// error after that is docker's {"error", "errorDetail"} line.
#pragma once

#include <nlohmann/json.hpp>

#include "api/http.hpp"

namespace berth::api {

class JsonLines {
 public:
  explicit JsonLines(Exchange& x) : x_(x) {}
  // False once the client is gone (the caller may stop its work).
  bool send(const nlohmann::json& j);
  bool started() const { return fd_ >= 0; }
  // Ends a failed operation: the error answer, or its line once started.
  void fail(const Error& e);
  // The connection, once started (-1 before): a cancel fd for the builder.
  int fd() const { return fd_; }
  bool gone() const { return gone_; }

 private:
  Exchange& x_;
  int fd_ = -1;
  bool gone_ = false;
};

// docker's progress bar text ("[=====>   ]  1.2MB/3.4MB").
std::string progress_bar(int64_t current, int64_t total);

}  // namespace berth::api
