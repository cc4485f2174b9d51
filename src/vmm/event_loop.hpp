// The VMM's one I/O thread: epoll over eventfds (virtio queue notifies, the
// exit event), the tap, the console input and the control socket. Callbacks
// run on the thread that calls run_once(). add/remove/modify may be called
// from any thread (a device reacts to a status write on a vCPU thread): the
// callback map has its own lock, never held while a callback runs.
#pragma once

#include <sys/epoll.h>

#include <functional>
#include <map>
#include <mutex>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace berth::vmm {

class EventLoop {
 public:
  using Callback = std::function<void()>;
  EventLoop() : ep_(static_cast<int>(check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1"))) {}

  void add(int fd, Callback cb, uint32_t events = EPOLLIN) {
    std::lock_guard<std::mutex> l(mu_);
    cbs_[fd] = std::move(cb);
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    check(::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev), "add fd to the VMM event loop");
  }
  // Changes what fd waits for (epoll_ctl only: takes no lock).
  void modify(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    ::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, fd, &ev);
  }
  void remove(int fd) {
    std::lock_guard<std::mutex> l(mu_);
    ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
    cbs_.erase(fd);
  }
  // Waits up to timeout_ms (-1: forever) and runs the ready callbacks.
  void run_once(int timeout_ms) {
    epoll_event evs[16];
    int n = ::epoll_wait(ep_.get(), evs, 16, timeout_ms);
    if (n < 0 && errno == EINTR) return;
    check(n, "epoll_wait in the VMM event loop");
    for (int i = 0; i < n; ++i) {
      Callback cb;  // a copy: a callback may remove itself
      {
        std::lock_guard<std::mutex> l(mu_);
        auto it = cbs_.find(evs[i].data.fd);
        if (it == cbs_.end()) continue;
        cb = it->second;
      }
      cb();
    }
  }

 private:
  UniqueFd ep_;
  std::mutex mu_;
  std::map<int, Callback> cbs_;
};

}  // namespace berth::vmm
