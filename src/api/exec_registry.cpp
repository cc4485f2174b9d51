#include "api/exec_registry.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/error.hpp"

namespace berth::api {

namespace {
std::string random_id() {
  unsigned char b[32];
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::read(fd, b, sizeof b) != static_cast<ssize_t>(sizeof b)) throw_errno("read /dev/urandom");
  ::close(fd);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) s += {hex[c >> 4], hex[c & 15]};
  return s;
}
}  // namespace

std::string ExecRegistry::add(ExecInstance e) {
  e.id = random_id();
  std::lock_guard l(m_);
  std::string id = e.id;
  execs_.emplace(id, std::move(e));
  return id;
}

ExecInstance ExecRegistry::get(const std::string& id) {
  std::lock_guard l(m_);
  auto it = execs_.find(id);
  if (it == execs_.end()) throw Error("No such exec instance: " + id, ErrorKind::NotFound);
  return it->second;
}

ExecInstance ExecRegistry::begin(const std::string& id) {
  std::lock_guard l(m_);
  auto it = execs_.find(id);
  if (it == execs_.end()) throw Error("No such exec instance: " + id, ErrorKind::NotFound);
  if (it->second.started) throw Error("exec " + id + " has already been started", ErrorKind::FailedPrecondition);
  it->second.started = it->second.running = true;
  return it->second;
}

void ExecRegistry::update(const std::string& id, const std::function<void(ExecInstance&)>& f) {
  std::lock_guard l(m_);
  auto it = execs_.find(id);
  if (it != execs_.end()) f(it->second);
}

}  // namespace berth::api
