// The WWW-Authenticate header of a registry's 401 answer (RFC 7235), e.g.
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
//   Basic realm="Registry Realm"
// Pure: bytes in, challenges out; no I/O, no allocation beyond the result,
// never throws (a fuzz target feeds it arbitrary bytes). What it cannot
// read it leaves out, and the caller says "no challenge it can answer".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::registry {

struct AuthChallenge {
  std::string scheme;                         // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lower-cased; values unquoted
  std::string param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  }
};

// Every challenge of one header value (a server may offer several, comma
// separated). Malformed parts are skipped.
std::vector<AuthChallenge> parse_www_authenticate(std::string_view header);

// The token service's answer to a bearer challenge: {"token": T} or
// {"access_token": T}, "expires_in" seconds (at least 60, the spec's
// minimum; 60 when absent). Corrupt naming `host` for anything else (not
// JSON, not an object, no token, a token that is not a string). Pure (a
// fuzz target feeds it arbitrary bytes).
struct TokenAnswer {
  std::string token;
  int64_t expires_in = 60;
};
TokenAnswer parse_token_answer(std::string_view body, const std::string& host);

}  // namespace berth::registry
