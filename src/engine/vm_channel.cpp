#include "engine/vm_channel.hpp"

#include <sys/un.h>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::engine {

std::string resolve_channel(const std::string& option, const std::string& default_path) {
  if (option.empty()) return "";
  std::string path;
  if (option == "unix") {
    fs::mkdir_p(default_path.substr(0, default_path.rfind('/')), 0700);
    path = default_path;
  } else if (option.rfind("unix:", 0) == 0 && option.size() > 5) {
    std::string given = option.substr(5);
    auto slash = given.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : given.substr(0, slash);
    std::string base = slash == std::string::npos ? given : given.substr(slash + 1);
    if (base.empty() || base == "." || base == "..")
      fail("--channel " + option + ": PATH must name a socket file, not a directory");
    if (!fs::is_dir(dir))
      throw Error("--channel " + option + ": directory " + dir + " does not exist", ErrorKind::NotFound);
    path = fs::join(fs::absolute(dir), base);
  } else {
    fail("--channel must be unix or unix:PATH, not '" + option + "'");
  }
  if (path.size() >= sizeof(sockaddr_un{}.sun_path))
    fail("--channel " + option + ": socket path " + path + " is longer than " +
         std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
  return path;
}

}  // namespace berth::engine
