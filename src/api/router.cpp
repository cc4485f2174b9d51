#include "api/router.hpp"

namespace berth::api {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_param(const std::string& p) { return p.size() > 2 && p.front() == '{' && p.back() == '}'; }

bool match_parts(const std::vector<std::string>& pat, const std::vector<std::string>& segs,
                 std::map<std::string, std::string>& params) {
  size_t greedy = pat.size();
  for (size_t i = 0; i < pat.size(); ++i)
    if (is_param(pat[i]) && pat[i][pat[i].size() - 2] == '*') greedy = i;
  if (greedy == pat.size() ? segs.size() != pat.size() : segs.size() < pat.size()) return false;
  std::map<std::string, std::string> got;
  size_t extra = segs.size() - pat.size();
  for (size_t i = 0, s = 0; i < pat.size(); ++i, ++s) {
    const std::string& p = pat[i];
    if (i == greedy) {
      std::string v = segs[s];
      for (size_t k = 0; k < extra; ++k) v += "/" + segs[++s];
      got[p.substr(1, p.size() - 3)] = v;
    } else if (is_param(p)) {
      got[p.substr(1, p.size() - 2)] = segs[s];
    } else if (p != segs[s]) {
      return false;
    }
  }
  params = std::move(got);
  return true;
}

}  // namespace

void Router::add(const std::string& method, const std::string& pattern, Handler h, BodyKind body) {
  routes_.push_back({method, split_path(pattern), std::move(h), body});
}

const Route* Router::match(const std::string& method, const std::string& path,
                           std::map<std::string, std::string>& params, bool* path_known) const {
  auto segs = split_path(path);
  *path_known = false;
  // Literal routes win over patterns (/containers/json before /containers/{id}).
  const Route* best = nullptr;
  int best_literals = -1;
  for (const auto& r : routes_) {
    std::map<std::string, std::string> p;
    if (!match_parts(r.parts, segs, p)) continue;
    if (r.method != method && !(method == "HEAD" && r.method == "GET")) {
      *path_known = true;
      continue;
    }
    int literals = 0;
    for (auto& part : r.parts) literals += !is_param(part);
    if (literals > best_literals) {
      best = &r;
      best_literals = literals;
      params = std::move(p);
    }
  }
  return best;
}

}  // namespace berth::api
