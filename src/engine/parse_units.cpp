// Docker's duration, signal and json-file log option notations.
#include <signal.h>

#include <time.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/error.hpp"
#include "engine/container_engine.hpp"

namespace berth::engine {

int64_t parse_duration_ns(const std::string& text, const std::string& flag) {
  auto bad = [&] { return Error("invalid argument \"" + text + "\" for \"" + flag + "\" flag: time: invalid duration \"" + text + "\"", ErrorKind::InvalidArgument); };
  if (text == "0") return 0;
  const char* p = text.c_str();
  if (!*p) throw bad();
  double total = 0;
  while (*p) {
    // Digits or a '.' first, as Go's time.ParseDuration: strtod alone took
    // "nan", "inf" and "-0".
    if (!std::isdigit(static_cast<unsigned char>(*p)) && *p != '.') throw bad();
    char* end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p || !std::isfinite(v)) throw bad();
    p = end;
    std::string unit;
    while (*p && std::isalpha(static_cast<unsigned char>(*p))) unit += *p++;
    double mul = unit == "ns" ? 1 : unit == "us" || unit == "µs" ? 1e3 : unit == "ms" ? 1e6 : unit == "s" ? 1e9
               : unit == "m" ? 60e9 : unit == "h" ? 3600e9 : -1;
    if (mul < 0) throw bad();
    total += v * mul;
  }
  // Go's limit (about 290 years); past int64 the cast is undefined
  // behaviour ("1e300h" in a Dockerfile's HEALTHCHECK --interval).
  if (!(total < 9.2e18)) throw bad();
  return static_cast<int64_t>(total);
}

int64_t parse_time_bound(const std::string& v, const std::string& flag) {
  if (v.empty()) return 0;
  int64_t t = image::parse_rfc3339(v);
  if (t > 0) return t;
  if (v.find_first_not_of("0123456789.") == std::string::npos) return std::strtoll(v.c_str(), nullptr, 10);  // saturates
  return static_cast<int64_t>(::time(nullptr)) - parse_duration_ns(v, flag) / 1000000000;
}

int parse_signal(const std::string& text) {
  std::string s = text;
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // At most 2 digits: atoi of a longer number overflows.
  if (!s.empty() && s.size() <= 2 && s.find_first_not_of("0123456789") == std::string::npos) {
    int n = std::atoi(s.c_str());
    if (n > 0 && n < 65) return n;
  }
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  for (int i = 1; i < 32; ++i) {
    const char* abbrev = sigabbrev_np(i);
    if (abbrev && s == abbrev) return i;
  }
  // RTMIN, RTMIN+N: N digits only, and no further than SIGRTMAX (an image's
  // StopSignal "RTMIN+2147483647" overflowed the sum).
  if (s == "RTMIN") return SIGRTMIN;
  if (s.rfind("RTMIN+", 0) == 0 && s.size() > 6 && s.size() <= 8 &&
      s.find_first_not_of("0123456789", 6) == std::string::npos) {
    int off = std::atoi(s.c_str() + 6);
    if (off <= SIGRTMAX - SIGRTMIN) return SIGRTMIN + off;
  }
  throw Error("invalid signal: " + text, ErrorKind::InvalidArgument);
}

namespace {

// docker's units.FromHumanSize: digits with an optional fraction, an
// optional space, then k, m, g, t or p (powers of 1000), an optional i and b.
int64_t log_size(const std::string& v) {
  auto bad = [&] {
    return Error("invalid max-size '" + v + "' for the json-file log: want a positive size such as 10m",
                 ErrorKind::InvalidArgument);
  };
  size_t i = 0;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
  if (i == 0) throw bad();
  if (i < v.size() && v[i] == '.') {
    size_t f = ++i;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
    if (i == f) throw bad();
  }
  double n = std::strtod(v.substr(0, i).c_str(), nullptr);
  if (i < v.size() && v[i] == ' ') ++i;
  double mul = 1;
  if (i < v.size()) {
    const char* units = "kmgtp";
    const char* u = std::strchr(units, std::tolower(static_cast<unsigned char>(v[i])));
    if (u && *u) {
      for (const char* x = units; x <= u; ++x) mul *= 1000;
      ++i;
    }
  }
  if (i < v.size() && (v[i] == 'i' || v[i] == 'I')) ++i;
  if (i < v.size() && (v[i] == 'b' || v[i] == 'B')) ++i;
  double bytes = n * mul;
  // Below 2^62: the cast is defined, and no sum with it overflows.
  if (i != v.size() || !(bytes >= 1) || bytes >= 4.6e18) throw bad();
  return static_cast<int64_t>(bytes);
}

int log_files(const std::string& v) {
  if (v.empty() || v.size() > 2 || v.find_first_not_of("0123456789") != std::string::npos || std::atoi(v.c_str()) < 1 ||
      std::atoi(v.c_str()) > kMaxLogFiles)
    throw Error("invalid max-file '" + v + "' for the json-file log: want a number from 1 to " +
                    std::to_string(kMaxLogFiles),
                ErrorKind::InvalidArgument);
  return std::atoi(v.c_str());
}

}  // namespace

LogLimits parse_log_opts(const std::map<std::string, std::string>& opts) {
  LogLimits l;
  for (const auto& [k, v] : opts) {
    if (k == "max-size") l.max_size = log_size(v);
    else if (k == "max-file") l.max_files = log_files(v);
    else throw Error("unknown log opt '" + k + "' for json-file log driver", ErrorKind::InvalidArgument);
  }
  return l;
}

}  // namespace berth::engine
