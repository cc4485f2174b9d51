// A registry's other answers (src/registry/registry_answers.cpp): the error
// body of a refusal, what a manifest says it is, a page of tags and the
// Link header to the next page. Any registry, or whoever answers for one,
// writes these bytes. Input: the body; its first line is also read as the
// Link header. Beyond not crashing: only berth::Error escapes, a version
// is 0 or small, and a next link is a path on the registry or a URL on it.
#include <string>

#include "fuzz_support.hpp"
#include "registry/registry_answers.hpp"

using namespace berth;
using namespace berth::registry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string base = "https://reg.example:5000";
  (void)error_message(in);
  fuzz::reject([&] {
    ManifestKind k = sniff_manifest(in, in.substr(0, in.find('\n')), "fuzz");
    FUZZ_CHECK(k.schema_version >= 0 && k.schema_version < 1000, std::to_string(k.schema_version));
  });
  fuzz::reject([&] { (void)parse_tags(in, "fuzz"); });
  fuzz::reject([&] {
    std::string next = next_link(in.substr(0, in.find('\n')), base, "fuzz");
    FUZZ_CHECK(next.empty() || (next[0] == '/' && next.rfind("//", 0) != 0) || next.rfind(base + "/", 0) == 0, next);
  });
  return 0;
}
