#include "monitor/event_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "monitor/json_file_log.hpp"

namespace berth::monitor {

namespace {
constexpr off_t kRotateAt = 1 << 20;
}

void append_event(const std::string& root, const std::string& type, const std::string& action, const std::string& id,
                  const std::map<std::string, std::string>& attributes) {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  std::string attrs;
  for (const auto& [k, v] : attributes) attrs += (attrs.empty() ? "" : ",") + json_quote(k) + ":" + json_quote(v);
  long long nano = static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
  std::string line = "{\"Type\":" + json_quote(type) + ",\"Action\":" + json_quote(action) + ",\"Actor\":{\"ID\":" +
                     json_quote(id) + ",\"Attributes\":{" + attrs + "}},\"scope\":\"local\",\"time\":" +
                     std::to_string(ts.tv_sec) + ",\"timeNano\":" + std::to_string(nano) + "}\n";
  std::string path = root + "/events.log";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;  // events are best effort: never fail the operation they describe
  struct stat st{};
  if (::fstat(fd, &st) == 0 && st.st_size > kRotateAt) ::rename(path.c_str(), (path + ".1").c_str());
  [[maybe_unused]] ssize_t w = ::write(fd, line.data(), line.size());
  ::close(fd);
}

}  // namespace berth::monitor
