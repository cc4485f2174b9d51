// Attach requests that arrive before their container starts: `docker run`
// attaches to the created container, then starts it, and expects every
// byte of output. The start handler takes the first waiting attach and
// gives the monitor one end of a socket pair (StartOptions::attach_fd),
// so the monitor streams to it from its first byte; other waiters connect
// to the monitor's attach socket once the container runs.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/fd.hpp"

namespace berth::api {

class AttachBroker {
 public:
  struct Waiter {
    std::mutex m;
    std::condition_variable cv;
    UniqueFd fd;          // given by a start
    bool cancelled = false;
  };
  std::shared_ptr<Waiter> wait_for_start(const std::string& id);
  void forget(const std::string& id, const std::shared_ptr<Waiter>& w);
  // For a start: the monitor's end of a pair whose other end went to the
  // first waiter; -1 when nobody waits.
  UniqueFd take_for_start(const std::string& id);

 private:
  std::mutex m_;
  std::multimap<std::string, std::shared_ptr<Waiter>> waiting_;
};

}  // namespace berth::api
