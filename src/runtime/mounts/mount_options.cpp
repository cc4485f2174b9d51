#include "runtime/mounts/mount_options.hpp"

#include <sys/mount.h>

#include <array>
#include <string_view>

#include "common/error.hpp"

namespace berth::runtime {
namespace {

struct FlagOption {
  std::string_view name;
  bool clear;            // true: the option clears `flag` ("rw", "suid", ...)
  unsigned long flag;
};

// Options that are mount(2) flags (same names as mount(8), runc and crun).
constexpr std::array kFlagOptions = {
    FlagOption{"defaults", false, 0},
    FlagOption{"ro", false, MS_RDONLY},
    FlagOption{"rw", true, MS_RDONLY},
    FlagOption{"nosuid", false, MS_NOSUID},
    FlagOption{"suid", true, MS_NOSUID},
    FlagOption{"nodev", false, MS_NODEV},
    FlagOption{"dev", true, MS_NODEV},
    FlagOption{"noexec", false, MS_NOEXEC},
    FlagOption{"exec", true, MS_NOEXEC},
    FlagOption{"sync", false, MS_SYNCHRONOUS},
    FlagOption{"async", true, MS_SYNCHRONOUS},
    FlagOption{"dirsync", false, MS_DIRSYNC},
    FlagOption{"remount", false, MS_REMOUNT},
    FlagOption{"mand", false, MS_MANDLOCK},
    FlagOption{"nomand", true, MS_MANDLOCK},
    FlagOption{"noatime", false, MS_NOATIME},
    FlagOption{"atime", true, MS_NOATIME},
    FlagOption{"nodiratime", false, MS_NODIRATIME},
    FlagOption{"diratime", true, MS_NODIRATIME},
    FlagOption{"relatime", false, MS_RELATIME},
    FlagOption{"norelatime", true, MS_RELATIME},
    FlagOption{"strictatime", false, MS_STRICTATIME},
    FlagOption{"nostrictatime", true, MS_STRICTATIME},
    FlagOption{"lazytime", false, MS_LAZYTIME},
    FlagOption{"nolazytime", true, MS_LAZYTIME},
    FlagOption{"nosymfollow", false, MS_NOSYMFOLLOW},
    FlagOption{"symfollow", true, MS_NOSYMFOLLOW},
    FlagOption{"iversion", false, MS_I_VERSION},
    FlagOption{"noiversion", true, MS_I_VERSION},
    FlagOption{"silent", false, MS_SILENT},
    FlagOption{"loud", true, MS_SILENT},
    FlagOption{"bind", false, MS_BIND},
    FlagOption{"rbind", false, MS_BIND | MS_REC},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flag;
};

constexpr std::array kPropagationOptions = {
    PropagationOption{"private", MS_PRIVATE},
    PropagationOption{"rprivate", MS_PRIVATE | MS_REC},
    PropagationOption{"shared", MS_SHARED},
    PropagationOption{"rshared", MS_SHARED | MS_REC},
    PropagationOption{"slave", MS_SLAVE},
    PropagationOption{"rslave", MS_SLAVE | MS_REC},
    PropagationOption{"unbindable", MS_UNBINDABLE},
    PropagationOption{"runbindable", MS_UNBINDABLE | MS_REC},
};

struct AttrOption {
  std::string_view name;
  bool clear;
  uint64_t attr;
};

// Recursive mount attributes (runc 1.1+, crun): applied with
// mount_setattr(AT_RECURSIVE) so they reach every submount of an rbind.
constexpr std::array kAttrOptions = {
    AttrOption{"rro", false, MOUNT_ATTR_RDONLY},
    AttrOption{"rrw", true, MOUNT_ATTR_RDONLY},
    AttrOption{"rnosuid", false, MOUNT_ATTR_NOSUID},
    AttrOption{"rsuid", true, MOUNT_ATTR_NOSUID},
    AttrOption{"rnodev", false, MOUNT_ATTR_NODEV},
    AttrOption{"rdev", true, MOUNT_ATTR_NODEV},
    AttrOption{"rnoexec", false, MOUNT_ATTR_NOEXEC},
    AttrOption{"rexec", true, MOUNT_ATTR_NOEXEC},
    AttrOption{"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    AttrOption{"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    AttrOption{"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    AttrOption{"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
    // The atime mode is a 3-way field: setting one clears MOUNT_ATTR__ATIME.
    AttrOption{"rrelatime", false, MOUNT_ATTR_RELATIME},
    AttrOption{"rnoatime", false, MOUNT_ATTR_NOATIME},
    AttrOption{"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
    // "atime"-style negations pick the kernel's default mode (mount(8)
    // semantics: without noatime/strictatime the kernel uses relatime).
    AttrOption{"ratime", false, MOUNT_ATTR_RELATIME},
    AttrOption{"rnostrictatime", false, MOUNT_ATTR_RELATIME},
    AttrOption{"rnorelatime", false, MOUNT_ATTR_STRICTATIME},
};

constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;

}  // namespace

bool MountOptions::is_bind() const { return (flags & MS_BIND) != 0; }

unsigned long MountOptions::bind_remount_flags() const {
  return flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
}

MountOptions parse_mount_options(const std::vector<std::string>& options,
                                 const std::string& what) {
  MountOptions o;
  for (const auto& opt : options) {
    bool done = false;
    for (const auto& f : kFlagOptions) {
      if (f.name != opt) continue;
      if (f.clear) {
        o.flags &= ~f.flag;
        o.clear |= f.flag;
      } else {
        // The atime modes exclude each other; the last one wins.
        if (f.flag & kAtimeFlags) o.flags &= ~kAtimeFlags;
        o.flags |= f.flag;
        o.clear &= ~f.flag;
      }
      done = true;
      break;
    }
    if (done) continue;
    for (const auto& p : kPropagationOptions) {
      if (p.name != opt) continue;
      o.propagation.push_back(p.flag);
      done = true;
      break;
    }
    if (done) continue;
    for (const auto& a : kAttrOptions) {
      if (a.name != opt) continue;
      o.recursive_attrs = true;
      if (a.attr == MOUNT_ATTR_RELATIME || a.attr == MOUNT_ATTR_NOATIME ||
          a.attr == MOUNT_ATTR_STRICTATIME) {
        o.attr_clr |= MOUNT_ATTR__ATIME;
        o.attr_set = (o.attr_set & ~MOUNT_ATTR__ATIME) | a.attr;
      } else if (a.clear) {
        o.attr_clr |= a.attr;
        o.attr_set &= ~a.attr;
      } else {
        o.attr_set |= a.attr;
        o.attr_clr &= ~a.attr;
      }
      done = true;
      break;
    }
    if (done) continue;
    if (opt == "tmpcopyup") {
      o.tmpcopyup = true;
    } else if (opt == "idmap" || opt == "ridmap") {
      o.idmap = true;
      if (opt == "ridmap") o.flags |= MS_REC;
    } else if (opt.empty()) {
      fail(what + ": empty option");
    } else {
      if (!o.data.empty()) o.data += ',';
      o.data += opt;
    }
  }
  return o;
}

unsigned long parse_propagation(const std::string& name) {
  for (const auto& p : kPropagationOptions)
    if (p.name == name) return p.flag;
  fail("linux.rootfsPropagation: unknown propagation \"" + name +
       "\" (want shared, slave, private, unbindable or their r* forms)");
}

}  // namespace berth::runtime
