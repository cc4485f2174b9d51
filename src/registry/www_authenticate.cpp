#include "registry/www_authenticate.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::registry {
namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return s[i]; }
  void skip_ws() {
    while (!done() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  void skip_ows_commas() {
    while (!done() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
  }
  std::string token() {
    size_t b = i;
    while (!done() && is_tchar(s[i])) ++i;
    return std::string(s.substr(b, i - b));
  }
  // At a '"': the unescaped content; false if the quote never closes.
  bool quoted(std::string& out) {
    ++i;
    while (!done()) {
      char c = s[i++];
      if (c == '"') return true;
      if (c == '\\' && !done()) c = s[i++];
      out.push_back(c);
    }
    return false;
  }
};

}  // namespace

std::vector<AuthChallenge> parse_www_authenticate(std::string_view header) {
  std::vector<AuthChallenge> out;
  Cursor c{header};
  c.skip_ows_commas();
  while (!c.done()) {
    std::string scheme = c.token();
    if (scheme.empty()) {  // not a token: skip to the next comma
      while (!c.done() && c.peek() != ',') ++c.i;
      c.skip_ows_commas();
      continue;
    }
    AuthChallenge ch;
    for (char& x : scheme) x = lower(x);
    ch.scheme = std::move(scheme);
    c.skip_ws();
    // auth-params: name = value, separated by commas, until a token that is
    // not followed by '=' (the next challenge's scheme).
    for (;;) {
      size_t save = c.i;
      c.skip_ows_commas();
      std::string name = c.token();
      if (name.empty()) {
        // token68 (Basic's credentials form) or garbage: skip to a comma.
        while (!c.done() && c.peek() != ',') ++c.i;
        if (c.done()) break;
        continue;
      }
      c.skip_ws();
      if (c.done() || c.peek() != '=') {  // a new challenge starts here
        c.i = save;
        break;
      }
      ++c.i;
      c.skip_ws();
      std::string value;
      if (!c.done() && c.peek() == '"') {
        if (!c.quoted(value)) break;
      } else {
        // A token by the RFC; servers also send bare URLs (realm=https://x/t),
        // so anything up to a comma or a blank is taken.
        size_t b = c.i;
        while (!c.done() && c.peek() != ',' && c.peek() != ' ' && c.peek() != '\t') ++c.i;
        value = std::string(c.s.substr(b, c.i - b));
      }
      for (char& x : name) x = lower(x);
      ch.params.emplace(std::move(name), std::move(value));
      c.skip_ws();
      if (c.done()) break;
    }
    out.push_back(std::move(ch));
    c.skip_ows_commas();
  }
  return out;
}

TokenAnswer parse_token_answer(std::string_view body, const std::string& host) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    fail("registry " + host + ": token service answered something that is not a JSON object", ErrorKind::Corrupt);
  // Fields of another type read as absent: a token that is a number is no
  // token (j.value() would throw nlohmann's type_error past the caller).
  auto text = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  TokenAnswer a;
  a.token = text("token");
  if (a.token.empty()) a.token = text("access_token");
  if (a.token.empty()) fail("registry " + host + ": token service gave no token", ErrorKind::Corrupt);
  if (auto it = j.find("expires_in"); it != j.end() && it->is_number_integer()) {
    // A huge unsigned value reads as a negative int64: clamp, as too short.
    a.expires_in = it->is_number_unsigned() && it->get<uint64_t>() > uint64_t{INT64_MAX} ? INT64_MAX
                                                                                       : it->get<int64_t>();
  }
  if (a.expires_in < 60) a.expires_in = 60;  // the spec's minimum
  // Bounded, so now() + seconds(ttl) cannot overflow the clock (a year).
  if (a.expires_in > 365 * 24 * 3600) a.expires_in = 365 * 24 * 3600;
  return a;
}

}  // namespace berth::registry
