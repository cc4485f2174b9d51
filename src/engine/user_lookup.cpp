#include "engine/user_lookup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "engine/in_root.hpp"

namespace berth::engine {

namespace {

bool numeric(const std::string& s) {
  return !s.empty() && s.size() < 11 && s.find_first_not_of("0123456789") == std::string::npos;
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
  std::string user_name;
  bool found = false;
  for (auto& f : passwd) {
    if (f.size() < 4) continue;
    if (f[0] == user || (numeric(user) && f[2] == user)) {
      u.uid = static_cast<uint32_t>(std::strtoul(f[2].c_str(), nullptr, 10));
      u.gid = static_cast<uint32_t>(std::strtoul(f[3].c_str(), nullptr, 10));
      if (f.size() > 5 && !f[5].empty()) u.home = f[5];
      user_name = f[0];
      found = true;
      break;
    }
  }
  if (!found) {
    if (!numeric(user))
      throw Error("unable to find user " + user + ": no matching entries in passwd file", ErrorKind::InvalidArgument);
    u.uid = static_cast<uint32_t>(std::strtoul(user.c_str(), nullptr, 10));
    u.gid = 0;  // Docker: a uid the passwd file does not know runs with gid 0
  }
  if (!group.empty()) {
    bool gfound = false;
    for (auto& f : groups)
      if (f.size() >= 3 && (f[0] == group || (numeric(group) && f[2] == group))) {
        u.gid = static_cast<uint32_t>(std::strtoul(f[2].c_str(), nullptr, 10));
        gfound = true;
        break;
      }
    if (!gfound) {
      if (!numeric(group))
        throw Error("unable to find group " + group + ": no matching entries in group file",
                    ErrorKind::InvalidArgument);
      u.gid = static_cast<uint32_t>(std::strtoul(group.c_str(), nullptr, 10));
    }
  }
  // Supplementary groups: every group that lists the user as a member.
  if (!user_name.empty())
    for (auto& f : groups) {
      if (f.size() < 4 || f[3].empty()) continue;
      std::istringstream members(f[3]);
      std::string m;
      while (std::getline(members, m, ','))
        if (m == user_name) {
          uint32_t g = static_cast<uint32_t>(std::strtoul(f[2].c_str(), nullptr, 10));
          if (g != u.gid) u.additional_gids.push_back(g);
        }
    }
  return u;
}

}  // namespace berth::engine
