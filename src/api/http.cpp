#include "api/http.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/json_text.hpp"

namespace berth::api {

using nlohmann::json;

std::string Request::param(const std::string& k) const {
  auto it = params.find(k);
  return it == params.end() ? "" : it->second;
}

bool Request::flag(const std::string& k, bool dflt) const {
  auto it = query.find(k);
  if (it == query.end()) return dflt;
  const std::string& v = it->second;
  return !(v == "0" || v == "false" || v == "False" || v == "no");
}

int64_t Request::number(const std::string& k, int64_t dflt) const {
  auto it = query.find(k);
  if (it == query.end() || it->second.empty()) return dflt;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (*end) throw Error("bad parameter " + k + "=" + it->second + ": want a number", ErrorKind::InvalidArgument);
  return v;
}

std::string Request::text(const std::string& k, const std::string& dflt) const {
  auto it = query.find(k);
  return it == query.end() ? dflt : it->second;
}

std::vector<std::string> Request::all(const std::string& k) const {
  std::vector<std::string> out;
  for (auto& [key, v] : query_list)
    if (key == k) out.push_back(v);
  return out;
}

json Request::json_body() const {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) throw Error("malformed JSON body: not valid JSON", ErrorKind::InvalidArgument);
  if (!j.is_object()) throw Error("malformed JSON body: want an object", ErrorKind::InvalidArgument);
  return j;
}

bool filter_passes(const std::map<std::string, std::vector<std::string>>& filters, const char* key,
                   const std::function<bool(const std::string&)>& ok) {
  auto it = filters.find(key);
  if (it == filters.end()) return true;
  for (const auto& v : it->second)
    if (ok(v)) return true;
  return false;
}

std::map<std::string, std::vector<std::string>> Request::filters() const {
  std::map<std::string, std::vector<std::string>> out;
  auto it = query.find("filters");
  if (it == query.end() || it->second.empty()) return out;
  json j = json::parse(it->second, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error("invalid filter: " + it->second + " (want a JSON object)", ErrorKind::InvalidArgument);
  for (auto& [k, v] : j.items()) {
    if (v.is_array()) {
      for (auto& x : v)
        if (x.is_string()) out[k].push_back(x.get<std::string>());
    } else if (v.is_object()) {
      for (auto& [x, on] : v.items())
        if (on.is_boolean() && on.get<bool>()) out[k].push_back(x);
    }
  }
  return out;
}

namespace {

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

void parse_target(const std::string& target, Request& req) {
  auto q = target.find('?');
  std::string path = url_decode(target.substr(0, q));
  if (q != std::string::npos) {
    std::string qs = target.substr(q + 1);
    size_t i = 0;
    while (i <= qs.size()) {
      size_t amp = qs.find('&', i);
      if (amp == std::string::npos) amp = qs.size();
      std::string kv = qs.substr(i, amp - i);
      if (!kv.empty()) {
        auto eq = kv.find('=');
        std::string k = url_decode(kv.substr(0, eq)), v = eq == std::string::npos ? "" : url_decode(kv.substr(eq + 1));
        req.query[k] = v;
        req.query_list.emplace_back(k, v);
      }
      i = amp + 1;
    }
  }
  if (path.size() > 2 && path[0] == '/' && path[1] == 'v' && std::isdigit(static_cast<unsigned char>(path[2]))) {
    auto slash = path.find('/', 1);
    req.api_version = path.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
    path = slash == std::string::npos ? "/" : path.substr(slash);
  }
  req.path = path;
}

int version_number(const std::string& v) {
  // Digits only, and few: atoi of "/v99999999999.1" overflowed, and * 1000 then too.
  auto dot = v.find('.');
  auto digits = [](std::string_view s) {
    return !s.empty() && s.size() <= 6 && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (dot == std::string::npos || !digits(std::string_view(v).substr(0, dot)) || !digits(std::string_view(v).substr(dot + 1)))
    return -1;
  return std::atoi(v.c_str()) * 1000 + std::atoi(v.c_str() + dot + 1);
}

// json_text: a file name in a container or a RUN step's output in an
// answer is any bytes; a plain dump() threw and lost the answer.
void Exchange::json(int status, const nlohmann::json& j) { reply(status, "application/json", json_text(j) + "\n"); }

int status_of(ErrorKind k) {
  switch (k) {
    case ErrorKind::InvalidArgument: return 400;
    case ErrorKind::NotFound: return 404;
    case ErrorKind::AlreadyExists: return 409;
    case ErrorKind::FailedPrecondition: return 409;
    case ErrorKind::Unsupported: return 501;
    default: return 500;
  }
}

}  // namespace berth::api
