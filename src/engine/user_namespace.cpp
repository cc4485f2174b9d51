#include "engine/user_namespace.hpp"

#include <sys/stat.h>

#include <charconv>
#include <cstdio>

#include "common/error.hpp"
#include "engine/container_spec.hpp"

namespace berth::engine {
namespace {

bool parse_u32(const std::string& s, uint32_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

std::vector<IdMap> parse_id_maps(const std::vector<std::string>& texts, const std::string& what) {
  std::vector<IdMap> out;
  for (const auto& t : texts) {
    auto a = t.find(':'), b = a == std::string::npos ? a : t.find(':', a + 1);
    IdMap m;
    if (b == std::string::npos || !parse_u32(t.substr(0, a), &m.container_id) ||
        !parse_u32(t.substr(a + 1, b - a - 1), &m.host_id) || !parse_u32(t.substr(b + 1), &m.size) || m.size == 0 ||
        uint64_t{m.container_id} + m.size > (uint64_t{1} << 32) - 1 || uint64_t{m.host_id} + m.size > (uint64_t{1} << 32) - 1)
      throw Error(what + " " + t + ": want CONTAINER_ID:HOST_ID:SIZE (numbers, size > 0, ids below 2^32-1)",
                  ErrorKind::InvalidArgument);
    out.push_back(m);
  }
  return out;
}

std::vector<std::string> id_maps_to_strings(const std::vector<IdMap>& maps) {
  std::vector<std::string> out;
  for (const auto& m : maps)
    out.push_back(std::to_string(m.container_id) + ":" + std::to_string(m.host_id) + ":" + std::to_string(m.size));
  return out;
}

namespace {

// "auto" or "auto:size=N": N, or 0 if the mode is not auto.
uint32_t auto_size(const std::string& mode) {
  if (mode == "auto" || mode == "private") return UsernsRanges::kRangeSize;
  if (mode.rfind("auto:", 0) != 0) return 0;
  std::string opt = mode.substr(5);
  uint32_t n = 0;
  if (opt.rfind("size=", 0) != 0 || !parse_u32(opt.substr(5), &n) || n == 0 || n > UsernsRanges::kRangeSize)
    throw Error("--userns " + mode + ": want auto or auto:size=N with 0 < N <= " +
                    std::to_string(UsernsRanges::kRangeSize),
                ErrorKind::InvalidArgument);
  return n;
}

}  // namespace

void check_userns(HostConfig& h) {
  const std::string& m = h.userns_mode;
  bool maps = !h.uid_maps.empty() || !h.gid_maps.empty();
  if (m.empty() || m == "host") {
    if (m == "host" && maps) fail("--userns host cannot be used with --uidmap/--gidmap");
    if (h.uid_maps.empty()) h.uid_maps = h.gid_maps;
    if (h.gid_maps.empty()) h.gid_maps = h.uid_maps;
    if (maps && host_id_of(h.uid_maps, 0) < 0) fail("--uidmap: container uid 0 (root) must be mapped");
    if (maps && host_id_of(h.gid_maps, 0) < 0) fail("--gidmap: container gid 0 must be mapped");
    return;
  }
  if (auto_size(m) == 0)
    throw Error("--userns " + m + ": unknown mode (host, auto, auto:size=N, private)", ErrorKind::InvalidArgument);
  if (maps) fail("--userns " + m + " cannot be used with --uidmap/--gidmap");
  if (h.privileged) fail("--privileged cannot be used with --userns " + m);
}

bool wants_userns_range(const HostConfig& h) { return auto_size(h.userns_mode) != 0; }

UsernsRanges::UsernsRanges(Database& db) : db_(db) {
  db_.exec(
      "CREATE TABLE IF NOT EXISTS userns_ranges ("
      " slot INTEGER PRIMARY KEY,"
      " container_id TEXT NOT NULL)");
}

uint32_t UsernsRanges::allocate(const std::string& id) {
  Transaction tx(db_);
  // A create killed after taking a range left a row whose container has
  // no record: give it back first.
  db_.exec("DELETE FROM userns_ranges WHERE container_id NOT IN (SELECT id FROM containers)");
  int64_t slot = 0;
  {
    auto q = db_.prepare("SELECT slot FROM userns_ranges ORDER BY slot");
    while (q.step() && q.integer(0) == slot) ++slot;
  }
  if (slot >= kRanges)
    throw Error("--userns auto: all " + std::to_string(kRanges) + " host id ranges are in use",
                ErrorKind::FailedPrecondition);
  db_.prepare("INSERT INTO userns_ranges (slot, container_id) VALUES (?, ?)").bind(1, slot).bind(2, id).run();
  tx.commit();
  return kPoolStart + static_cast<uint32_t>(slot) * kRangeSize;
}

void UsernsRanges::release(const std::string& id) {
  db_.prepare("DELETE FROM userns_ranges WHERE container_id = ?").bind(1, id).run();
}

void check_passable(const std::string& path, uint32_t host_uid) {
  std::string dir;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos + 1);
    if (next == std::string::npos) next = path.size();
    dir = path.substr(0, next);
    pos = next;
    struct stat st{};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    bool passable = st.st_uid == host_uid ? (st.st_mode & S_IXUSR) : (st.st_mode & S_IXOTH);
    if (!passable) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
      throw Error("user namespace: " + dir + " (mode " + mode + ") cannot be passed by the container's root, host uid " +
                      std::to_string(host_uid) + "; let others pass it (chmod o+x " + dir +
                      ") or keep berth's --root and --state elsewhere",
                  ErrorKind::FailedPrecondition);
    }
  }
}

void assign_userns_range(HostConfig& h, UsernsRanges& ranges, const std::string& id) {
  uint32_t size = auto_size(h.userns_mode);
  uint32_t start = ranges.allocate(id);
  h.uid_maps = {IdMap{0, start, size}};
  h.gid_maps = h.uid_maps;
}

}  // namespace berth::engine
