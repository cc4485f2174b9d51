#include "api/json_lines.hpp"

#include <cstdio>

#include "api/stream_io.hpp"
#include "common/json_text.hpp"

namespace berth::api {

bool JsonLines::send(const nlohmann::json& j) {
  if (gone_) return false;
  if (fd_ < 0) fd_ = x_.stream(200, "application/json");
  if (!send_all(fd_, json_text(j) + "\r\n")) gone_ = true;
  return !gone_;
}

void JsonLines::fail(const Error& e) {
  if (!started()) throw e;
  send({{"errorDetail", {{"message", e.what()}}}, {"error", e.what()}});
}

namespace {
std::string human(int64_t n) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.3g%s", v, units[u]);
  return buf;
}
}  // namespace

std::string progress_bar(int64_t current, int64_t total) {
  if (total <= 0) return human(current);
  int width = 50, filled = static_cast<int>(width * std::min<int64_t>(current, total) / total);
  std::string bar = "[" + std::string(filled > 0 ? filled - 1 : 0, '=') + (filled > 0 ? ">" : "") +
                    std::string(width - filled, ' ') + "] ";
  return bar + human(current) + "/" + human(total);
}

}  // namespace berth::api
