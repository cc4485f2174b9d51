#include "net/tap.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace berth::net {

void create_persistent_tap(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) fail("invalid tap name '" + name + "'");
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) throw_errno("open /dev/net/tun for tap " + name);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  // The flags the VMM attaches with: a tun device refuses an attach of
  // the other kind (TUN vs TAP) with EINVAL.
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  check(::ioctl(fd.get(), TUNSETIFF, &ifr), "create tap " + name);
  check(::ioctl(fd.get(), TUNSETOWNER, static_cast<unsigned long>(::geteuid())), "set the owner of tap " + name);
  // Without this the tap goes when this fd closes, before the VMM attaches.
  check(::ioctl(fd.get(), TUNSETPERSIST, 1), "make tap " + name + " persistent");
}

}  // namespace berth::net
