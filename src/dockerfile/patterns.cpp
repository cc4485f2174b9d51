#include "dockerfile/patterns.hpp"

#include <cctype>

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

bool match_here(std::string_view p, std::string_view s, bool ds) {
  while (!p.empty()) {
    char c = p[0];
    if (c == '*') {
      if (ds && p.size() > 1 && p[1] == '*') {
        std::string_view rest = p.substr(2);
        if (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
        if (rest.empty()) return true;  // "**" at the end: everything
        // "**/": zero or more whole directories
        if (match_here(rest, s, ds)) return true;
        for (size_t i = 0; i < s.size(); ++i)
          if (s[i] == '/' && match_here(rest, s.substr(i + 1), ds)) return true;
        return false;
      }
      std::string_view rest = p.substr(1);
      for (size_t i = 0;; ++i) {
        if (match_here(rest, s.substr(i), ds)) return true;
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

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path, bool double_star) {
  return match_here(pattern, path, double_star);
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
