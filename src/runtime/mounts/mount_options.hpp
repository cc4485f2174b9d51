// OCI mount options -> mount(2) flags, propagation, recursive attributes and
// filesystem data. One table (mount_options.cpp) maps every option name
// runc/crun accept; anything not in the table is filesystem data ("size=64k",
// "mode=755", "newinstance"), passed to the filesystem as the data string.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::runtime {

struct MountOptions {
  unsigned long flags = 0;        // MS_* to set on mount (incl. MS_BIND, MS_REC)
  unsigned long clear = 0;        // MS_* explicitly cleared ("rw", "suid", ...)
  std::vector<unsigned long> propagation;  // MS_SHARED|MS_REC, ... in order
  // Recursive attributes (mount_setattr(AT_RECURSIVE)): "rro", "rnosuid", ...
  uint64_t attr_set = 0;
  uint64_t attr_clr = 0;
  bool recursive_attrs = false;
  bool tmpcopyup = false;         // crun/runc extension for tmpfs
  bool idmap = false;             // "idmap"/"ridmap": idmapped bind mount
  std::string data;               // comma-joined filesystem options

  bool is_bind() const;
  // Flags that need a remount after a bind (a bind ignores all but MS_REC).
  unsigned long bind_remount_flags() const;
};

// Parses options; an unknown option is filesystem data, never an error
// (the kernel judges it). `what` names the config field for errors.
MountOptions parse_mount_options(const std::vector<std::string>& options,
                                 const std::string& what = "mount options");

// Parses a propagation name alone ("rslave", "private", ...) for
// linux.rootfsPropagation; throws InvalidArgument naming the value.
unsigned long parse_propagation(const std::string& name);

}  // namespace berth::runtime
