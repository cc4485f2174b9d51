#include "api/http.hpp"

#include <nlohmann/json.hpp>

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

void Exchange::json(int status, const nlohmann::json& j) { reply(status, "application/json", j.dump() + "\n"); }

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
