#include "registry/platform.hpp"

#include "common/error.hpp"

namespace berth::registry {

static oci::Platform normalise(oci::Platform p) {
  if (p.architecture == "x86_64" || p.architecture == "x86-64") p.architecture = "amd64";
  if (p.architecture == "aarch64") p.architecture = "arm64";
  if (p.architecture == "arm64" && p.variant == "v8") p.variant.clear();
  if (p.architecture == "arm" && p.variant.empty()) p.variant = "v7";
  return p;
}

oci::Platform parse_platform(std::string_view s) {
  oci::Platform p;
  std::string parts[3];
  int n = 0;
  size_t b = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '/') {
      if (n == 3) fail("invalid platform \"" + std::string(s) + "\": want os/arch[/variant]");
      parts[n++] = std::string(s.substr(b, i - b));
      b = i + 1;
    }
  }
  if (n < 2 || parts[0].empty() || parts[1].empty() || (n == 3 && parts[2].empty()))
    fail("invalid platform \"" + std::string(s) + "\": want os/arch[/variant]");
  for (auto& x : parts)
    for (char c : x)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
        fail("invalid platform \"" + std::string(s) + "\": want os/arch[/variant] in lowercase");
  p.os = parts[0];
  p.architecture = parts[1];
  p.variant = parts[2];
  return normalise(p);
}

std::string to_string(const oci::Platform& p) {
  return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

oci::Platform host_platform() {
#if defined(__x86_64__)
  return {"linux", "amd64", ""};
#elif defined(__aarch64__)
  return {"linux", "arm64", ""};
#else
#error "host_platform: unknown architecture"
#endif
}

const oci::Descriptor& select_platform(const oci::Index& idx, const oci::Platform& want_in, const std::string& what) {
  oci::Platform want = normalise(want_in);
  std::string offered;
  const oci::Descriptor* loose = nullptr;  // same os/arch, variant unstated
  for (auto& d : idx.manifests) {
    if (!d.platform) continue;
    if (d.platform->os == "unknown" || d.platform->architecture == "unknown") continue;  // attestations
    oci::Platform p = normalise(*d.platform);
    offered += (offered.empty() ? "" : ", ") + to_string(p);
    if (p.os != want.os || p.architecture != want.architecture) continue;
    if (p.variant == want.variant) return d;
    if (want.variant.empty() || p.variant.empty()) loose = loose ? loose : &d;
  }
  if (loose) return *loose;
  throw Error(what + " has no manifest for " + to_string(want) +
                  (offered.empty() ? " (it names no platform)" : " (it offers " + offered + ")"),
              ErrorKind::NotFound);
}

}  // namespace berth::registry
