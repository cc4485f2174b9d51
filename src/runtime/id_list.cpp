#include "runtime/id_list.hpp"

#include <charconv>
#include <set>
#include <string>

#include "common/error.hpp"

namespace berth::runtime {

namespace {

[[noreturn]] void bad_list(std::string_view list, std::string_view field) {
  fail(std::string(field) + ": \"" + std::string(list) + "\" is not a list like 0-3,7");
}

}  // namespace

std::vector<unsigned> parse_id_list(std::string_view list, std::string_view field) {
  constexpr unsigned kMaxId = 65535;  // well above any CPU or node count Linux has
  std::set<unsigned> ids;
  const char* p = list.data();
  const char* const end = p + list.size();
  for (;;) {
    unsigned first = 0;
    auto r = std::from_chars(p, end, first);
    if (r.ec != std::errc()) bad_list(list, field);
    p = r.ptr;
    unsigned last = first;
    if (p < end && *p == '-') {
      r = std::from_chars(p + 1, end, last);
      if (r.ec != std::errc() || last < first) bad_list(list, field);
      p = r.ptr;
    }
    if (last > kMaxId) bad_list(list, field);
    for (unsigned id = first; id <= last; ++id) ids.insert(id);
    if (p == end) break;
    if (*p != ',') bad_list(list, field);
    ++p;
  }
  return {ids.begin(), ids.end()};
}

}  // namespace berth::runtime
