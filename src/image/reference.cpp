#include "image/reference.hpp"

#include <algorithm>
#include <cctype>

#include "common/digest.hpp"
#include "common/error.hpp"

namespace berth::image {

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

// What parse_reference takes for a registry: a first component with a '.'
// or ':', "localhost", or one with capitals.
static bool looks_like_domain(std::string_view head) {
  return head.find('.') != std::string_view::npos || head.find(':') != std::string_view::npos ||
         head == "localhost" ||
         std::any_of(head.begin(), head.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
}

std::string Reference::familiar_name() const {
  if (domain != "docker.io") return name();
  if (path.starts_with("library/") && path.find('/', 8) == std::string::npos) return path.substr(8);
  // docker.io/quay.io/x shown as quay.io/x would name another registry's
  // image (found by tests/fuzz/reference): keep docker.io in front.
  if (looks_like_domain(std::string_view(path).substr(0, path.find('/')))) return name();
  return path;
}

std::string Reference::familiar() const {
  std::string s = familiar_name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

// A path component: [a-z0-9]+ separated by '.', '_', '__' or '-'s.
static bool valid_component(std::string_view c) {
  if (c.empty() || !std::isalnum(static_cast<unsigned char>(c.front())) ||
      !std::isalnum(static_cast<unsigned char>(c.back())))
    return false;
  for (char ch : c) {
    if (std::isupper(static_cast<unsigned char>(ch))) return false;
    if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) ||
          ch == '.' || ch == '_' || ch == '-'))
      return false;
  }
  return true;
}

static bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  if (!(std::isalnum(static_cast<unsigned char>(t[0])) || t[0] == '_')) return false;
  for (char ch : t)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-')) return false;
  return true;
}

static bool valid_domain(std::string_view d) {
  if (d.empty()) return false;
  for (char ch : d)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' ||
          ch == '[' || ch == ']'))
      return false;
  return true;
}

Reference parse_reference(std::string_view in, bool default_tag) {
  auto bad = [&](const std::string& why) -> Error {
    return Error("invalid reference \"" + std::string(in) + "\": " + why, ErrorKind::InvalidArgument);
  };
  if (in.empty()) throw bad("empty");
  if (in.size() > 255 + 128 + 72) throw bad("too long");
  Reference r;
  std::string_view s = in;
  if (auto at = s.find('@'); at != std::string_view::npos) {
    r.digest = std::string(s.substr(at + 1));
    if (!is_sha256_digest(r.digest)) throw bad("digest must be sha256:<64 hex>");
    s = s.substr(0, at);
  }
  // A tag is after the last ':' that comes after the last '/'.
  auto slash = s.rfind('/');
  auto colon = s.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    r.tag = std::string(s.substr(colon + 1));
    if (!valid_tag(r.tag)) throw bad("invalid tag \"" + r.tag + "\"");
    s = s.substr(0, colon);
  }
  std::string_view rest = s;
  auto first = s.find('/');
  if (first != std::string_view::npos) {
    auto head = s.substr(0, first);
    if (looks_like_domain(head)) {
      if (!valid_domain(head)) throw bad("invalid registry \"" + std::string(head) + "\"");
      r.domain = std::string(head);
      rest = s.substr(first + 1);
    }
  }
  if (r.domain.empty()) r.domain = "docker.io";
  if (r.domain == "index.docker.io") r.domain = "docker.io";
  if (rest.empty()) throw bad("empty repository name");
  size_t pos = 0;
  int parts = 0;
  while (true) {
    auto next = rest.find('/', pos);
    auto comp = rest.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
    if (!valid_component(comp))
      throw bad("repository name component \"" + std::string(comp) +
                "\" must be lowercase letters, digits and separators");
    ++parts;
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  r.path = std::string(rest);
  if (r.domain == "docker.io" && parts == 1) r.path = "library/" + r.path;
  if (r.tag.empty() && r.digest.empty() && default_tag) r.tag = "latest";
  // A bare 64-hex name is an image ID, never a repository (as in Docker).
  if (r.domain == "docker.io" && is_sha256_hex(rest) && in.find(':') == std::string_view::npos)
    throw bad("a 64-hex name is an image ID, not a repository");
  return r;
}

bool is_valid_reference(std::string_view s) {
  try {
    parse_reference(s);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace berth::image
