#include "dockerfile/patterns.hpp"

#include <cctype>
#include <cstdint>
#include <unordered_set>

namespace berth::dockerfile {

namespace {

// One `[...]` class at p[0] == '['. Sets *consumed to its length; -1 if malformed.
int class_match(std::string_view p, char c, size_t* consumed) {
  size_t i = 1;
  bool negate = false;
  if (i < p.size() && (p[i] == '^' || p[i] == '!')) negate = true, ++i;
  bool matched = false, any = false;
  while (i < p.size() && (p[i] != ']' || !any)) {
    if (p[i] == ']' && !any) return -1;  // "[]" is malformed, as in Go
    char lo = p[i];
    if (lo == '\\') {
      if (++i >= p.size()) return -1;
      lo = p[i];
    }
    ++i;
    char hi = lo;
    if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
      hi = p[i + 1];
      i += 2;
      if (hi == '\\') {
        if (i >= p.size()) return -1;
        hi = p[i++];
      }
    }
    if (lo <= c && c <= hi) matched = true;
    any = true;
  }
  if (i >= p.size()) return -1;
  *consumed = i + 1;
  return matched != negate ? 1 : 0;
}

// Backtracking over suffixes of the pattern and the path, remembering the
// pairs (pattern at, path at) that failed: without it, "**********x" or
// "*a*a*a*a*b" against a long name took exponential time (the fuzz target
// dockerignore hung on a .dockerignore line of stars: a build context's
// .dockerignore could stall the builder). With it, each pair is tried once.
class Matcher {
 public:
  Matcher(std::string_view p, std::string_view s, bool ds) : p0_(p), s0_(s), ds_(ds) {}
  bool match(std::string_view p, std::string_view s) {
    uint64_t key = (static_cast<uint64_t>(p0_.size() - p.size()) << 32) | (s0_.size() - s.size());
    if (failed_.count(key)) return false;
    bool m = match_here(p, s);
    if (!m) failed_.insert(key);
    return m;
  }

 private:
  bool match_here(std::string_view p, std::string_view s) {
    while (!p.empty()) {
      char c = p[0];
      if (c == '*') {
        if (ds_ && p.size() > 1 && p[1] == '*') {
          std::string_view rest = p.substr(2);
          if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
          if (rest.empty()) return true;  // "**" at the end: everything
          // "**/": zero or more whole directories
          if (match(rest, s)) return true;
          for (size_t i = 0; i < s.size(); ++i)
            if (s[i] == '/' && match(rest, s.substr(i + 1))) return true;
          return false;
        }
        std::string_view rest = p.substr(1);
        for (size_t i = 0;; ++i) {
          if (match(rest, s.substr(i))) return true;
          if (i >= s.size() || s[i] == '/') return false;
        }
      }
      if (s.empty()) return false;
      if (c == '?') {
        if (s[0] == '/') return false;
        p.remove_prefix(1);
        s.remove_prefix(1);
        continue;
      }
      if (c == '[') {
        if (s[0] == '/') return false;
        size_t n = 0;
        int m = class_match(p, s[0], &n);
        if (m <= 0) return false;
        p.remove_prefix(n);
        s.remove_prefix(1);
        continue;
      }
      if (c == '\\') {
        if (p.size() < 2) return false;
        p.remove_prefix(1);
        c = p[0];
      }
      if (c != s[0]) return false;
      p.remove_prefix(1);
      s.remove_prefix(1);
    }
    return s.empty();
  }

  std::string_view p0_, s0_;
  bool ds_;
  std::unordered_set<uint64_t> failed_;
};

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path, bool double_star) {
  // Offsets are keyed in 32 bits each: longer inputs match nothing.
  if (pattern.size() > UINT32_MAX || path.size() > UINT32_MAX) return false;
  return Matcher(pattern, path, double_star).match(pattern, path);
}

bool has_glob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::string clean_path(std::string_view p) {
  bool rooted = !p.empty() && p[0] == '/';
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    std::string_view part = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!rooted) parts.push_back(part);
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string out;
  if (rooted) out.push_back('/');
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out.push_back('/');
    out.append(parts[i].data(), parts[i].size());
  }
  if (out.empty()) out.push_back('.');
  return out;
}

IgnoreRules IgnoreRules::parse(std::string_view text) {
  IgnoreRules r;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    auto trim = [](std::string_view s) {
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
      return s;
    };
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    Rule rule;
    if (line[0] == '!') {
      rule.exception = true;
      line = trim(line.substr(1));
      if (line.empty()) continue;
    }
    std::string p = clean_path(line);
    if (p.size() > 1 && p[0] == '/') p.erase(0, 1);
    if (p == "/") continue;
    rule.depth = 1;
    for (char c : p) rule.depth += c == '/';
    rule.pattern = std::move(p);
    r.rules_.push_back(std::move(rule));
  }
  return r;
}

bool IgnoreRules::excluded(std::string_view rel) const {
  bool matched = false;
  for (const auto& rule : rules_) {
    bool m = glob_match(rule.pattern, rel, true);
    // or a parent directory of `rel` matches
    for (size_t i = 0; !m && i < rel.size(); ++i)
      if (rel[i] == '/') m = glob_match(rule.pattern, rel.substr(0, i), true);
    if (m) matched = !rule.exception;
  }
  return matched;
}

bool IgnoreRules::may_include_below(std::string_view) const {
  for (const auto& rule : rules_)
    if (rule.exception) return true;
  return false;
}

}  // namespace berth::dockerfile
