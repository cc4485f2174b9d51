// ContainerEngine::stats: docker stats' numbers from the container's own
// cgroups (found in /proc/<pid>/cgroup, so any runtime's layout works; v1
// or v2 per controller) and its network namespace (/proc/<pid>/net/dev).
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"

namespace berth::engine {

namespace {

std::string read_or_empty(const std::string& path) {
  try {
    return fs::read_file(path);
  } catch (const Error&) {
    return "";
  }
}

int64_t num(const std::string& s) { return s.empty() ? 0 : std::strtoll(s.c_str(), nullptr, 10); }

// "key value" lines -> value of key
int64_t field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  int64_t v;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

struct CgroupDirs {
  std::string cpu, memory, pids, blkio;  // v1 dirs
  std::string unified;                   // v2 dir
};

CgroupDirs cgroup_dirs(int pid) {
  CgroupDirs d;
  std::istringstream in(read_or_empty("/proc/" + std::to_string(pid) + "/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    auto has = [&](const char* c) { return ("," + ctrls + ",").find(std::string(",") + c + ",") != std::string::npos; };
    if (ctrls.empty()) {
      d.unified = (fs::is_dir("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup") + path;
      continue;
    }
    std::string base = "/sys/fs/cgroup/" + ctrls + path;
    if (has("cpuacct")) d.cpu = base;
    if (has("memory")) d.memory = base;
    if (has("pids")) d.pids = base;
    if (has("blkio")) d.blkio = base;
  }
  return d;
}

int64_t cpu_usage_ns(const CgroupDirs& d) {
  if (!d.cpu.empty()) return num(read_or_empty(d.cpu + "/cpuacct.usage"));
  return field(read_or_empty(d.unified + "/cpu.stat"), "usage_usec") * 1000;
}

int64_t system_ns() {
  std::istringstream in(read_or_empty("/proc/stat"));
  std::string cpu;
  in >> cpu;
  int64_t total = 0, v;
  for (int i = 0; i < 8 && in >> v; ++i) total += v;
  return total * (1000000000 / ::sysconf(_SC_CLK_TCK));
}

}  // namespace

std::vector<ContainerEngine::Stats> ContainerEngine::stats(const std::vector<std::string>& refs, int interval_ms) {
  std::vector<Container> cs;
  if (refs.empty()) {
    cs = list({});
  } else {
    for (auto& r : refs) cs.push_back(inspect(r));
  }
  std::vector<CgroupDirs> dirs;
  std::vector<int64_t> cpu0;
  for (auto& c : cs) {
    dirs.push_back(c.state.running() ? cgroup_dirs(c.state.pid) : CgroupDirs{});
    cpu0.push_back(cpu_usage_ns(dirs.back()));
  }
  int64_t sys0 = system_ns();
  std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  int64_t sys1 = system_ns();
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  std::vector<Stats> out;
  for (size_t i = 0; i < cs.size(); ++i) {
    const Container& c = cs[i];
    const CgroupDirs& d = dirs[i];
    Stats s;
    s.id = c.id;
    s.name = c.name;
    s.online_cpus = static_cast<int>(cpus);
    s.presystem_ns = sys0;
    s.system_ns = sys1;
    if (c.state.running()) {
      int64_t cpu1 = cpu_usage_ns(d);
      s.precpu_ns = cpu0[i];
      s.cpu_ns = cpu1;
      if (sys1 > sys0 && cpu1 >= cpu0[i])
        s.cpu_percent = static_cast<double>(cpu1 - cpu0[i]) / static_cast<double>(sys1 - sys0) * cpus * 100.0;
      if (!d.memory.empty()) {
        // docker: usage minus the inactive page cache
        s.mem_usage = num(read_or_empty(d.memory + "/memory.usage_in_bytes")) -
                      field(read_or_empty(d.memory + "/memory.stat"), "total_inactive_file");
        s.mem_limit = num(read_or_empty(d.memory + "/memory.limit_in_bytes"));
      } else {
        s.mem_usage = num(read_or_empty(d.unified + "/memory.current")) -
                      field(read_or_empty(d.unified + "/memory.stat"), "inactive_file");
        std::string max = read_or_empty(d.unified + "/memory.max");
        s.mem_limit = max.rfind("max", 0) == 0 ? 0 : num(max);
      }
      int64_t host_mem = static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE);
      if (s.mem_limit <= 0 || s.mem_limit > host_mem) s.mem_limit = host_mem;
      if (s.mem_usage < 0) s.mem_usage = 0;
      s.pids = num(read_or_empty((d.pids.empty() ? d.unified : d.pids) + "/pids.current"));
      if (!d.blkio.empty()) {
        std::istringstream in(read_or_empty(d.blkio + "/blkio.throttle.io_service_bytes"));
        std::string dev, op;
        int64_t v;
        while (in >> dev) {
          if (dev == "Total") {
            in >> v;
            continue;
          }
          if (!(in >> op >> v)) break;
          if (op == "Read") s.blk_read += v;
          if (op == "Write") s.blk_write += v;
        }
      } else {
        std::istringstream in(read_or_empty(d.unified + "/io.stat"));
        std::string tok;
        while (in >> tok) {
          if (tok.rfind("rbytes=", 0) == 0) s.blk_read += num(tok.substr(7));
          if (tok.rfind("wbytes=", 0) == 0) s.blk_write += num(tok.substr(7));
        }
      }
      std::istringstream net(read_or_empty("/proc/" + std::to_string(c.state.pid) + "/net/dev"));
      std::string line;
      while (std::getline(net, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string ifname = line.substr(0, colon);
        ifname.erase(0, ifname.find_first_not_of(' '));
        if (ifname == "lo") continue;
        std::istringstream f(line.substr(colon + 1));
        int64_t v[16] = {};
        for (auto& x : v) f >> x;
        s.net_rx += v[0];
        s.net_tx += v[8];
      }
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace berth::engine
