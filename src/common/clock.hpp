// Wall-clock time as RFC 3339 text, the one format Berth stores and prints
// (OCI state "created", image and VM records, JSON logs).
#pragma once

#include <cstdint>

#include <string>

namespace berth {

// Now, UTC, with nanoseconds: "2026-11-23T18:04:05.123456789Z". Computed
// from the epoch without gmtime(), whose first call reads /etc/localtime
// (a file open on every container start for a time printed in UTC).
std::string now_rfc3339();

// CLOCK_MONOTONIC in milliseconds (durations, timeouts).
int64_t monotonic_ms();

}  // namespace berth
