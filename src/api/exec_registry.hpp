// docker's exec instances: POST /containers/{id}/exec makes one (an ID and
// the request), /exec/{id}/start runs it, /exec/{id}/json reports it. They
// live in the server's memory, as dockerd's do.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/container_engine.hpp"

namespace berth::api {

struct ExecInstance {
  std::string id, container_id;
  engine::ExecRequest request;
  bool attach_stdin = false, attach_stdout = true, attach_stderr = true;
  std::string detach_keys;
  // Changed while it runs (under ExecRegistry's lock).
  bool running = false, started = false;
  std::optional<int> exit_code;
  int pid = 0;
  int console_fd = -1;  // the pty master while a tty exec runs (resize)
};

class ExecRegistry {
 public:
  std::string add(ExecInstance e);
  // A copy, or NotFound "No such exec instance: ID".
  ExecInstance get(const std::string& id);
  // Marks it started; FailedPrecondition if it already was.
  ExecInstance begin(const std::string& id);
  void update(const std::string& id, const std::function<void(ExecInstance&)>& f);

 private:
  std::mutex m_;
  std::map<std::string, ExecInstance> execs_;
};

}  // namespace berth::api
