// The WWW-Authenticate header of a registry's 401 (src/registry/
// www_authenticate.cpp): any registry, or whoever answers for it, writes
// it. The parser promises never to throw. Beyond not crashing: schemes
// and parameter names come out lower-case and non-empty, and parsing a
// challenge printed back (scheme k="v",...) gives the same challenge.
#include <string>

#include "fuzz_support.hpp"
#include "registry/www_authenticate.hpp"

using namespace berth;
using namespace berth::registry;

namespace {

std::string quoted(const std::string& v) {
  std::string o = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<AuthChallenge> chs;
  try {
    chs = parse_www_authenticate(in);
  } catch (const std::exception& e) {
    fuzz::die("parse_www_authenticate threw (it promises not to)", e.what());
  }
  for (const auto& ch : chs) {
    FUZZ_CHECK(!ch.scheme.empty(), std::string(in));
    for (char c : ch.scheme) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), ch.scheme);
    for (const auto& [k, v] : ch.params) {
      FUZZ_CHECK(!k.empty(), std::string(in));
      for (char c : k) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), k);
    }
    (void)ch.param("realm");
    std::string again = ch.scheme;
    const char* sep = " ";
    for (const auto& [k, v] : ch.params) again += sep + k + "=" + quoted(v), sep = ", ";
    auto back = parse_www_authenticate(again);
    FUZZ_CHECK(back.size() == 1 && back[0].scheme == ch.scheme && back[0].params == ch.params, again);
  }
  return 0;
}
