// The engine's event log (`berth events`): <root>/events.log, one JSON
// object a line in the Engine API's event shape:
//   {"Type":"container","Action":"die","Actor":{"ID":...,"Attributes":{...}},
//    "scope":"local","time":S,"timeNano":NS}
// Appended with O_APPEND (whole lines, from any process: CLIs and
// monitors), rotated to events.log.1 past 1 MiB. Lives below the engine so
// the monitor, which links no JSON library, can append "die" itself.
#pragma once

#include <map>
#include <string>

namespace berth::monitor {

void append_event(const std::string& root, const std::string& type, const std::string& action, const std::string& id,
                  const std::map<std::string, std::string>& attributes);

}  // namespace berth::monitor
