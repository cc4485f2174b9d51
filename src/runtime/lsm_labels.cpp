#include "runtime/lsm_labels.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "common/error.hpp"
#include "common/log.hpp"

namespace berth::runtime {

namespace {

// The module is looked up only for a label that is set: a config without
// labels (the common case) costs no file access.
void accept_label(const std::string& label, std::string_view where, const char* field, const char* module,
                  bool (*enabled)()) {
  if (label.empty()) return;
  const std::string named = std::string(where) + field + " \"" + label + "\"";
  if (enabled())
    fail(named + ": " + module + " is enabled on this host, and berth-runtime cannot apply " + module +
             " labels (remove the field to run the container without one)",
         ErrorKind::Unsupported);
  log::warn(named + ": ignored: " + module + " is not enabled on this host");
}

}  // namespace

bool selinux_enabled() { return ::access("/sys/fs/selinux/enforce", F_OK) == 0; }

bool apparmor_enabled() {
  int fd = ::open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char c = 0;
  bool yes = ::read(fd, &c, 1) == 1 && c == 'Y';
  ::close(fd);
  return yes;
}

void accept_process_labels(const oci::Process& process, std::string_view where) {
  accept_label(process.selinux_label, where, ".selinuxLabel", "SELinux", selinux_enabled);
  accept_label(process.apparmor_profile, where, ".apparmorProfile", "AppArmor", apparmor_enabled);
}

void accept_mount_label(const oci::Linux& l) {
  accept_label(l.mount_label, "linux", ".mountLabel", "SELinux", selinux_enabled);
}

}  // namespace berth::runtime
