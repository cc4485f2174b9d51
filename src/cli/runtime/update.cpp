// update: runc's flags (and -r FILE|- with a linux.resources object; flags
// given as well override its fields), applied to the live cgroup.
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <iterator>

#include "cli/runtime/cli.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/container.hpp"

namespace berth::cli {

namespace {

const std::vector<FlagSpec> kUpdateFlags = {
    {{"resources", "r"}, true}, {{"memory"}, true},      {{"memory-reservation"}, true},
    {{"memory-swap"}, true},    {{"cpu-shares"}, true},  {{"cpu-quota"}, true},
    {{"cpu-period"}, true},     {{"cpuset-cpus"}, true}, {{"cpuset-mems"}, true},
    {{"pids-limit"}, true},     {{"blkio-weight"}, true},
    // runc 1.1's deprecated flags: accepted, and ignored with a warning.
    {{"kernel-memory"}, true},  {{"kernel-memory-tcp"}, true},
};

[[noreturn]] void bad_value(const std::string& flag, const std::string& v, const char* want) {
  fail("update: --" + flag + " \"" + v + "\": " + want);
}

int64_t parse_int(const std::string& flag, const std::string& v, int64_t min, int64_t max) {
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end || errno == ERANGE || n < min || n > max)
    bad_value(flag, v, min < 0 ? "want an integer (-1: unlimited)" : "want a non-negative integer");
  return n;
}

// Bytes with runc's (docker/go-units RAMInBytes) suffixes: 64m, 1g, 512k,
// 2GiB...; -1 is unlimited.
int64_t parse_bytes(const std::string& flag, const std::string& v) {
  if (v == "-1") return -1;
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || end == v.c_str() || n < 0 || errno == ERANGE) bad_value(flag, v, "want a size like 64m (or -1)");
  std::string unit(end);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.ends_with("ib")) unit.erase(unit.size() - 2);
  else if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();
  static const std::string kUnits = "bkmgtp";
  size_t shift = unit.empty() ? 0 : kUnits.find(unit);
  if (unit.size() > 1 || shift == std::string::npos) bad_value(flag, v, "unknown unit (b, k, m, g, t, p)");
  if (shift && n > (LLONG_MAX >> (10 * shift))) bad_value(flag, v, "too large");
  return n << (10 * shift);
}

oci::LinuxResources resources_from(const Args& a) {
  oci::LinuxResources r;
  if (a.has("resources")) {
    std::string src = a.value("resources");
    std::string text = src == "-" ? fs::read_all(0, "standard input") : fs::read_file(src);
    r = oci::parse_resources(text, "update -r " + (src == "-" ? std::string("(stdin)") : src));
  }
  auto mem = [&]() -> oci::MemoryResources& { return r.memory ? *r.memory : r.memory.emplace(); };
  auto cpu = [&]() -> oci::CpuResources& { return r.cpu ? *r.cpu : r.cpu.emplace(); };
  if (a.has("memory")) mem().limit = parse_bytes("memory", a.value("memory"));
  if (a.has("memory-reservation")) mem().reservation = parse_bytes("memory-reservation", a.value("memory-reservation"));
  if (a.has("memory-swap")) mem().swap = parse_bytes("memory-swap", a.value("memory-swap"));
  if (a.has("kernel-memory")) mem().kernel = parse_bytes("kernel-memory", a.value("kernel-memory"));
  if (a.has("kernel-memory-tcp")) mem().kernel_tcp = parse_bytes("kernel-memory-tcp", a.value("kernel-memory-tcp"));
  if (a.has("cpu-shares")) cpu().shares = parse_int("cpu-shares", a.value("cpu-shares"), 0, INT64_MAX);
  if (a.has("cpu-quota")) cpu().quota = parse_int("cpu-quota", a.value("cpu-quota"), -1, INT64_MAX);
  if (a.has("cpu-period")) cpu().period = parse_int("cpu-period", a.value("cpu-period"), 0, INT64_MAX);
  if (a.has("cpuset-cpus")) cpu().cpus = a.value("cpuset-cpus");
  if (a.has("cpuset-mems")) cpu().mems = a.value("cpuset-mems");
  if (a.has("pids-limit")) r.pids = oci::PidsResources{parse_int("pids-limit", a.value("pids-limit"), -1, INT64_MAX)};
  if (a.has("blkio-weight")) {
    if (!r.block_io) r.block_io.emplace();
    r.block_io->weight = static_cast<uint16_t>(parse_int("blkio-weight", a.value("blkio-weight"), 10, 1000));
  }
  return r;
}

}  // namespace

int cmd_update(const runtime::GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, kUpdateFlags, false, "update");
  a.expect_positional(1, 1, "[--memory N] [--cpu-shares N] [--cpu-quota N] [--cpu-period N] [--cpuset-cpus L] "
                            "[--pids-limit N] [-r FILE|-] ID");
  runtime::update_container(g, a.positional()[0], resources_from(a));
  return 0;
}

}  // namespace berth::cli
