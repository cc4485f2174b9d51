#include "common/clock.hpp"

#include <time.h>

#include <chrono>
#include <cstdio>

namespace berth {

std::string now_rfc3339() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  using namespace std::chrono;
  const sys_seconds secs{seconds{ts.tv_sec}};
  const sys_days day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> tod{secs - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%09ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(tod.hours().count()), static_cast<long long>(tod.minutes().count()),
                static_cast<long long>(tod.seconds().count()), ts.tv_nsec);
  return buf;
}

int64_t monotonic_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace berth
