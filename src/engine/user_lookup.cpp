#include "engine/user_lookup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "engine/in_root.hpp"

namespace berth::engine {

namespace {

// runc's range (libcontainer/user): ids above 2^31 - 1 are refused, so a
// uid of 4294967296 cannot wrap to 0 (root) on its way into a uint32_t.
constexpr uint64_t kMaxId = (1ull << 31) - 1;
// The kernel's NGROUPS_MAX: setgroups(2) takes no more.
constexpr size_t kMaxGroups = 65536;

bool numeric(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// A decimal id in runc's range, or nothing.
std::optional<uint32_t> parse_id(const std::string& s) {
  if (!numeric(s) || s.size() > 10) return std::nullopt;
  uint64_t v = std::strtoull(s.c_str(), nullptr, 10);
  if (v > kMaxId) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// What an error quotes of a field: a line of the image's files can be 16 MiB.
std::string quoted(const std::string& s) { return s.size() > 32 ? s.substr(0, 32) + "..." : s; }

// An id the user gave (--user, --chown): a number must be in range.
uint32_t given_id(const std::string& s) {
  auto id = parse_id(s);
  if (!id) throw Error("uids and gids must be in range 0-" + std::to_string(kMaxId) + ": " + quoted(s),
                       ErrorKind::InvalidArgument);
  return *id;
}

// An id field of the image's passwd or group file, for the entry it names.
uint32_t file_id(const std::string& s, const char* file, const std::string& entry, const char* field) {
  auto id = parse_id(s);
  if (!id)
    throw Error(std::string(file) + " in the container: " + quoted(entry) + " has " + field + " '" + quoted(s) +
                    "', not a number in 0-" + std::to_string(kMaxId),
                ErrorKind::InvalidArgument);
  return *id;
}

std::vector<std::vector<std::string>> entries(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    size_t start = 0;
    for (;;) {
      size_t c = line.find(':', start);
      f.push_back(line.substr(start, c == std::string::npos ? std::string::npos : c - start));
      if (c == std::string::npos) break;
      start = c + 1;
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

std::string read_in_root(const std::string& rootfs, const std::string& path) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("open rootfs " + rootfs);
  UniqueFd fd = open_in_root(root.get(), path, O_RDONLY);
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return "";
    throw_errno("open " + path + " in " + rootfs);
  }
  std::string text = fs::read_all(fd.get(), path);
  if (text.size() > (16u << 20)) fail(path + " in the container is larger than 16 MiB");
  return text;
}

ResolvedUser resolve_user(const std::string& rootfs, const std::string& user_spec) {
  ResolvedUser u;
  // No user is uid 0, still looked up: its HOME (/root) and groups come from
  // the image's passwd, as Docker's (runc's GetExecUser) do.
  const std::string spec = user_spec.empty() ? "0" : user_spec;
  std::string user = spec, group;
  if (auto c = spec.find(':'); c != std::string::npos) {
    user = spec.substr(0, c);
    group = spec.substr(c + 1);
  }
  auto passwd = entries(read_in_root(rootfs, "/etc/passwd"));
  auto groups = entries(read_in_root(rootfs, "/etc/group"));
  // A number is always a uid (runc): it matches an entry's uid field, not
  // its name, and "01000" is uid 1000.
  const bool user_numeric = numeric(user), group_numeric = numeric(group);
  const uint32_t user_id = user_numeric ? given_id(user) : 0, group_id = group_numeric ? given_id(group) : 0;
  auto has_id = [](const std::string& field, uint32_t id) {
    auto v = parse_id(field);
    return v && *v == id;
  };
  std::string user_name;
  bool found = false;
  for (auto& f : passwd) {
    if (f.size() < 4) continue;
    if (user_numeric ? has_id(f[2], user_id) : f[0] == user) {
      u.uid = file_id(f[2], "/etc/passwd", "user " + f[0], "uid");
      u.gid = file_id(f[3], "/etc/passwd", "user " + f[0], "gid");
      if (f.size() > 5 && !f[5].empty()) u.home = f[5];
      user_name = f[0];
      found = true;
      break;
    }
  }
  if (!found) {
    if (!user_numeric)
      throw Error("unable to find user " + user + ": no matching entries in passwd file", ErrorKind::InvalidArgument);
    u.uid = user_id;
    u.gid = 0;  // Docker: a uid the passwd file does not know runs with gid 0
  }
  if (!group.empty()) {
    bool gfound = false;
    for (auto& f : groups)
      if (f.size() >= 3 && (group_numeric ? has_id(f[2], group_id) : f[0] == group)) {
        u.gid = file_id(f[2], "/etc/group", "group " + f[0], "gid");
        gfound = true;
        break;
      }
    if (!gfound) {
      if (!group_numeric)
        throw Error("unable to find group " + group + ": no matching entries in group file",
                    ErrorKind::InvalidArgument);
      u.gid = group_id;
    }
  }
  // Supplementary groups: every group that lists the user as a member.
  std::set<uint32_t> seen;  // a group listed twice is given once
  if (!user_name.empty())
    for (auto& f : groups) {
      if (f.size() < 4 || f[3].empty()) continue;
      std::istringstream members(f[3]);
      std::string m;
      while (std::getline(members, m, ','))
        if (m == user_name) {
          uint32_t g = file_id(f[2], "/etc/group", "group " + f[0], "gid");
          if (g == u.gid || !seen.insert(g).second) continue;
          if (u.additional_gids.size() == kMaxGroups)
            throw Error("/etc/group in the container: user " + quoted(user_name) + " is in more than " +
                            std::to_string(kMaxGroups) + " groups",
                        ErrorKind::InvalidArgument);
          u.additional_gids.push_back(g);
        }
    }
  return u;
}

}  // namespace berth::engine
