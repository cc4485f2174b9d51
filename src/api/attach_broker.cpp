#include "api/attach_broker.hpp"

#include <sys/socket.h>

#include "common/error.hpp"

namespace berth::api {

std::shared_ptr<AttachBroker::Waiter> AttachBroker::wait_for_start(const std::string& id) {
  auto w = std::make_shared<Waiter>();
  std::lock_guard l(m_);
  waiting_.emplace(id, w);
  return w;
}

void AttachBroker::forget(const std::string& id, const std::shared_ptr<Waiter>& w) {
  std::lock_guard l(m_);
  auto [a, b] = waiting_.equal_range(id);
  for (auto it = a; it != b; ++it)
    if (it->second == w) {
      waiting_.erase(it);
      return;
    }
}

UniqueFd AttachBroker::take_for_start(const std::string& id) {
  std::shared_ptr<Waiter> w;
  {
    std::lock_guard l(m_);
    auto it = waiting_.find(id);
    if (it == waiting_.end()) return UniqueFd();
    w = it->second;
    waiting_.erase(it);
  }
  int sv[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair for attach");
  std::lock_guard l(w->m);
  w->fd.reset(sv[0]);
  w->cv.notify_all();
  return UniqueFd(sv[1]);
}

}  // namespace berth::api
