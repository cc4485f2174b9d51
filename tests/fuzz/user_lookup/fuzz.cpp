// --user against the image's own /etc/passwd and /etc/group
// (src/engine/user_lookup.cpp): `run --user`, `exec --user`, an image's
// USER and a Dockerfile's COPY --chown=name resolve names and numbers in
// files the image's author wrote. Input: the user spec, then the passwd
// file, then the group file, "\0"-separated. Beyond not crashing: every id
// it gives is in runc's 0..2^31-1 (an id cast to uint32_t once wrapped
// 4294967296 to root), a name resolves only to an entry of that name, and
// the supplementary groups are distinct, not the primary one, and at most
// NGROUPS_MAX.
#include <unistd.h>

#include <set>
#include <utility>
#include <string>

#include "common/fs.hpp"
#include "engine/user_lookup.hpp"
#include "fuzz_support.hpp"

using namespace berth;
using namespace berth::engine;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto parts = fuzz::split_input(in, std::string_view("\0", 1), 3);
  static fuzz::ScratchDir rootfs("user-lookup");
  static const bool made = (fs::mkdir_p(rootfs.path() + "/etc"), true);
  (void)made;
  // Each file is made anew: ext4 flushes a file truncated and rewritten
  // at close (auto_da_alloc), which made the target wait on the disk.
  for (auto [name, i] : {std::pair{"/etc/passwd", size_t{1}}, std::pair{"/etc/group", size_t{2}}}) {
    std::string path = rootfs.path() + name;
    ::unlink(path.c_str());
    fs::write_file(path, parts.size() > i ? parts[i] : "");
  }
  const std::string spec(parts[0]);
  fuzz::reject([&] {
    ResolvedUser u = resolve_user(rootfs.path(), spec);
    constexpr uint32_t kMax = (1u << 31) - 1;
    FUZZ_CHECK(u.uid <= kMax && u.gid <= kMax, spec);
    FUZZ_CHECK(u.additional_gids.size() <= 65536, spec);
    std::set<uint32_t> seen;
    for (uint32_t g : u.additional_gids) {
      FUZZ_CHECK(g <= kMax && g != u.gid, std::to_string(g));
      FUZZ_CHECK(seen.insert(g).second, "supplementary gid twice: " + std::to_string(g));
    }
    std::string user = spec.substr(0, spec.find(':'));
    if (!user.empty() && user.find_first_not_of("0123456789") != std::string::npos) {
      // A name (not a number) resolved: the passwd file has a line for it.
      std::string passwd = "\n" + std::string(parts.size() > 1 ? parts[1] : "");
      FUZZ_CHECK(passwd.find("\n" + user + ":") != std::string::npos, user);
    }
  });
  return 0;
}
