// .dockerignore and path patterns (src/dockerfile/patterns.cpp): the
// .dockerignore of a build context (anyone's), matched against the
// context's paths, and COPY/ADD source globs (glob_match). Input: the
// .dockerignore, then "\0"-separated paths to match (the first line of
// the file doubles as a COPY glob). Beyond not crashing: clean_path is
// idempotent and never leaves "..", "//" or a trailing "/" inside a
// relative path; a malformed pattern matches nothing rather than throwing.
#include <string>

#include "dockerfile/patterns.hpp"
#include "fuzz_support.hpp"

using namespace berth;
using namespace berth::dockerfile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto parts = fuzz::split_input(in, std::string_view("\0", 1), 9);
  fuzz::reject([&] {
    IgnoreRules rules = IgnoreRules::parse(parts[0]);
    std::string_view first_line = parts[0].substr(0, parts[0].find('\n'));
    (void)has_glob(first_line);
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string p = clean_path(parts[i]);
      FUZZ_CHECK(clean_path(p) == p, p);
      FUZZ_CHECK(!p.empty(), std::string(parts[i]));
      if (p[0] != '/') FUZZ_CHECK(p.find("//") == std::string::npos, p);
      FUZZ_CHECK(p == "/" || p.back() != '/', p);
      (void)rules.excluded(p);
      (void)rules.may_include_below(p);
      (void)glob_match(first_line, parts[i], false);
      (void)glob_match(first_line, p, true);
    }
  });
  return 0;
}
