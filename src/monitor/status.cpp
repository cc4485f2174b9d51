#include "monitor/status.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "common/error.hpp"
#include "monitor/json_file_log.hpp"

namespace berth::monitor {

std::string to_json(const Status& s) {
  std::string j = "{\"status\":" + json_quote(s.status) + ",\"pid\":" + std::to_string(s.pid) +
                  ",\"monitorPid\":" + std::to_string(s.monitor_pid) + ",\"monitorStart\":" +
                  json_quote(s.monitor_start) + ",\"startedAt\":" + json_quote(s.started_at) +
                  ",\"finishedAt\":" + json_quote(s.finished_at) + ",\"exitCode\":" + std::to_string(s.exit_code) +
                  ",\"oomKilled\":" + (s.oom_killed ? "true" : "false") +
                  ",\"restartCount\":" + std::to_string(s.restart_count) + ",\"error\":" + json_quote(s.error);
  if (!s.health.empty())
    j += ",\"health\":" + json_quote(s.health) + ",\"healthFailing\":" + std::to_string(s.health_failing) +
         ",\"healthLog\":" + (s.health_log.empty() ? "[]" : s.health_log);
  return j + "}\n";
}

void write_status(const std::string& path, const Status& s) {
  std::string tmp = path + ".tmp";
  std::string data = to_json(s);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("write " + tmp);
  ssize_t w = ::write(fd, data.data(), data.size());
  ::close(fd);
  if (w != static_cast<ssize_t>(data.size())) throw_errno("write " + tmp, w < 0 ? errno : ENOSPC);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("rename " + tmp + " to " + path);
}

}  // namespace berth::monitor
