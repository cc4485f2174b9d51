// ContainerEngine::wait_for: docker's POST /containers/{id}/wait. It follows
// the event log rather than polling records: `docker run --rm` asks for
// "removed" before the start, and the container may start, exit and be
// removed between two looks; its "die" and "destroy" lines stay in the log.
#include <time.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/container_engine.hpp"
#include "engine/events.hpp"

namespace berth::engine {

std::optional<WaitResult> ContainerEngine::wait_for(const std::string& ref, const std::string& condition,
                                                    int hangup_fd) {
  std::string cond = condition.empty() ? "not-running" : condition;
  if (cond != "not-running" && cond != "next-exit" && cond != "removed")
    throw Error("invalid condition: \"" + condition + "\"", ErrorKind::InvalidArgument);
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  int64_t t0 = ts.tv_sec * 1000000000LL + ts.tv_nsec;
  Container c = inspect(ref);
  WaitResult last{c.state.exit_code, c.state.error};
  if (cond == "not-running" && !c.state.running()) return last;
  // The monitor logs "die" just before it records the exit, so a die a
  // moment before t0 may belong to a container still shown running: look
  // back a little, and count such a die if it came after the start of the
  // run the record shows (the record may still lag behind it: waiting for
  // the record to agree hung a wait whose die was its last event).
  EventQuery q;
  q.since = ts.tv_sec - 2;
  q.follow = true;
  q.hangup_fd = hangup_fd;
  std::optional<WaitResult> out;
  read_events(root_, q, [&](const nlohmann::json& e) {
    if (e.value("Type", "") != "container") return true;
    const auto& actor = e.value("Actor", nlohmann::json::object());
    if (actor.value("ID", "") != c.id) return true;
    std::string action = e.value("Action", "");
    const int64_t at = e.value("timeNano", int64_t{0});
    const bool recent = at >= t0;
    if (action == "die") {
      auto attrs = actor.value("Attributes", nlohmann::json::object());
      int code = std::atoi(attrs.value("exitCode", "0").c_str());
      if (!recent) {
        auto now = store_->find(c.id);
        if (now) sync(*now);
        if (now && now->state.running() && at < image::parse_rfc3339_nanos(now->state.started_at))
          return true;  // a die of an earlier run
      }
      if (cond == "next-exit" && !recent) return true;
      last = {code, ""};
      if (cond != "removed") {
        out = last;
        return false;
      }
    } else if (action == "destroy" && cond == "removed") {
      if (!recent && store_->find(c.id)) return true;
      out = last;
      return false;
    }
    return true;
  });
  return out;
}

}  // namespace berth::engine
