// linux.sysctl: only keys the container's own namespaces isolate may be set
// (a "vm.*" or "kernel.panic" write would change the host). Same rules as
// runc's validator.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "common/error.hpp"
#include "runtime/mounts/rootfs.hpp"
#include "runtime/sysctl.hpp"

namespace berth::runtime {
namespace {

bool has_new_ns(const oci::Spec& spec, std::string_view type) {
  if (!spec.linux) return false;
  return std::any_of(spec.linux->namespaces.begin(), spec.linux->namespaces.end(),
                     [&](const oci::Namespace& n) { return n.type == type; });
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return std::string(s);
}

// Multi-value sysctls ("kernel.sem") print tab-separated; configs use spaces.
std::string normalize(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : trim(s)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string sysctl_namespace(std::string_view key) {
  static constexpr std::array<std::string_view, 8> kIpc = {
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  if (std::find(kIpc.begin(), kIpc.end(), key) != kIpc.end() || key.starts_with("fs.mqueue."))
    return "ipc";
  if (key.starts_with("net.")) return "network";
  if (key == "kernel.hostname" || key == "kernel.domainname") return "uts";
  return "";
}

void validate_sysctls(const oci::Spec& spec) {
  if (!spec.linux) return;
  for (const auto& [key_in, value] : spec.linux->sysctl) {
    std::string key = key_in;
    std::replace(key.begin(), key.end(), '/', '.');
    const std::string field = "linux.sysctl[\"" + key_in + "\"]";
    if (key.empty() || key.find("..") != std::string::npos || key.front() == '.')
      fail(field + ": not a sysctl name");
    std::string ns = sysctl_namespace(key);
    if (ns.empty())
      fail(field + ": not namespaced; setting it would change the host");
    if (!has_new_ns(spec, ns))
      fail(field + ": needs the container to have its own " + ns + " namespace");
    if (value.find('\n') != std::string::npos) fail(field + ": value contains a newline");
  }
}

void apply_sysctls(const oci::Spec& spec) {
  if (!spec.linux || spec.linux->sysctl.empty()) return;
  validate_sysctls(spec);
  for (const auto& [key_in, value] : spec.linux->sysctl) {
    std::string key = key_in;
    std::replace(key.begin(), key.end(), '/', '.');
    std::string rel = key;
    std::replace(rel.begin(), rel.end(), '.', '/');
    const std::string path = "/proc/sys/" + rel;
    const std::string field = "linux.sysctl[\"" + key_in + "\"]";
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    bool read_only = false;
    if (fd < 0 && errno == EROFS) {
      // Already applied (finish_rootfs sets sysctls before /proc/sys goes
      // read-only); a later call only verifies.
      fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      read_only = true;
    }
    if (fd < 0) throw_errno(field + ": open " + path);
    char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    if (n >= 0 && normalize(std::string_view(buf, static_cast<size_t>(n))) == normalize(value)) {
      close(fd);
      continue;
    }
    if (read_only) {
      close(fd);
      throw_errno(field + ": write " + path, EROFS);
    }
    ssize_t w = pwrite(fd, value.data(), value.size(), 0);
    int err = errno;
    close(fd);
    if (w < 0) throw_errno(field + ": write \"" + value + "\" to " + path, err);
  }
}

}  // namespace berth::runtime
