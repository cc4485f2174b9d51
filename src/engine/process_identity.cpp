#include "engine/process_identity.hpp"

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::engine {

namespace {

// Fields 3 (state) and 22 (start time), counted after the ")" that ends
// the command name (which may itself hold spaces and parentheses).
bool stat_fields(int pid, char* state, std::string* start) {
  std::string s;
  try {
    s = fs::read_file("/proc/" + std::to_string(pid) + "/stat");
  } catch (const Error&) {
    return false;
  }
  auto p = s.rfind(')');
  if (p == std::string::npos || p + 2 >= s.size()) return false;
  *state = s[p + 2];
  int field = 3;
  size_t i = p + 2;
  while (i < s.size() && field < 22) {
    if (s[i] == ' ') ++field;
    ++i;
  }
  *start = s.substr(i, s.find(' ', i) - i);
  return true;
}

}  // namespace

std::string process_start_time(int pid) {
  char state;
  std::string start;
  return pid > 0 && stat_fields(pid, &state, &start) ? start : "";
}

bool process_alive(const MonitorIdentity& p) {
  char state;
  std::string start;
  if (p.pid <= 0 || !stat_fields(p.pid, &state, &start)) return false;
  return start == p.start && state != 'Z' && state != 'X';
}

}  // namespace berth::engine
