// Image references normalised the way Docker does:
//   busybox            -> docker.io/library/busybox:latest
//   me/app:1           -> docker.io/me/app:1
//   quay.io/x/y@sha256:... (digest kept; no implicit tag)
#pragma once

#include <string>
#include <string_view>

namespace berth::image {

struct Reference {
  std::string domain;  // docker.io, quay.io, localhost:5000
  std::string path;    // library/busybox
  std::string tag;     // empty when only a digest was given
  std::string digest;  // sha256:... or empty

  std::string name() const { return domain + "/" + path; }
  // Full normalised form: name[:tag][@digest].
  std::string str() const;
  // Docker's short form for display: busybox, me/app, quay.io/x/y.
  std::string familiar_name() const;
  std::string familiar() const;  // familiar_name()[:tag][@digest]
};

// Throws InvalidArgument with the reason for a malformed reference.
// When `default_tag` is true (the usual case) a reference with neither tag
// nor digest gets ":latest".
Reference parse_reference(std::string_view s, bool default_tag = true);
bool is_valid_reference(std::string_view s);

}  // namespace berth::image
