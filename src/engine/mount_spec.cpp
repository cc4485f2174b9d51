#include "engine/mount_spec.hpp"

#include <sstream>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::engine {

// -v SRC:DST[:ro|rw], -v DST (anonymous), -v NAME:DST
MountRequest parse_bind_spec(const std::string& spec) {
  MountRequest m;
  std::vector<std::string> parts;
  std::string cur;
  for (char c : spec) {
    if (c == ':') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  if (parts.size() > 3 || parts[0].empty()) throw Error("invalid volume specification: '" + spec + "'", ErrorKind::InvalidArgument);
  if (parts.size() == 1) {
    m.type = "volume";
    m.target = parts[0];
  } else {
    m.source = parts[0];
    m.target = parts[1];
    m.type = m.source[0] == '/' || m.source[0] == '.' ? "bind" : "volume";
    if (m.source[0] == '.') m.source = fs::absolute(m.source);
  }
  if (parts.size() == 3) {
    std::istringstream opts(parts[2]);
    std::string o;
    while (std::getline(opts, o, ',')) {
      if (o == "ro") m.read_only = true;
      else if (o == "rw") m.read_only = false;
      else if (o == "z" || o == "Z" || o == "rprivate" || o == "private" || o == "nocopy") continue;
      else throw Error("invalid mode: " + o + " (in volume specification '" + spec + "')", ErrorKind::InvalidArgument);
    }
  }
  return m;
}

}  // namespace berth::engine
