// The engine's side of the event log (monitor/event_log.hpp): recording a
// container's events, and reading them back for `berth events`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "engine/container_spec.hpp"

namespace berth::engine {

void container_event(const std::string& root, const Container& c, const std::string& action,
                     std::map<std::string, std::string> extra = {});

struct EventQuery {
  int64_t since = 0;  // unix seconds; 0: from the start
  int64_t until = 0;  // 0: no end (follow when `follow`)
  bool follow = false;
  int hangup_fd = -1;  // following ends when this socket's peer hangs up
};

// Calls `each` for every event in range, oldest first; with `follow`,
// keeps waiting for new ones until `each` returns false or `until` passes.
void read_events(const std::string& root, const EventQuery& q, const std::function<bool(const nlohmann::json&)>& each);

}  // namespace berth::engine
