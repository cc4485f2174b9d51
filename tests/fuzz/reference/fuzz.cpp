// Image references (`name:tag@digest`), from the command line, a
// docker-archive's RepoTags, an API request: src/image/reference.cpp.
// Beyond not crashing: a reference that parses must print as one that
// parses again to the same thing (what the image store records is read
// back), and is_valid_reference must agree with parse_reference.
#include <string>

#include "fuzz_support.hpp"
#include "image/reference.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  bool valid = image::is_valid_reference(in);
  bool parsed = false;
  fuzz::reject([&] {
    image::Reference r = image::parse_reference(in);
    parsed = true;
    std::string s = r.str();
    image::Reference again = image::parse_reference(s);
    FUZZ_CHECK(again.str() == s, s + " reparses as " + again.str());
    image::Reference familiar = image::parse_reference(r.familiar());
    FUZZ_CHECK(familiar.str() == s, r.familiar() + " (familiar form of " + s + ") parses as " + familiar.str());
  });
  FUZZ_CHECK(valid == parsed, std::string(in) + ": is_valid_reference and parse_reference disagree");
  fuzz::reject([&] { image::parse_reference(in, false); });
  return 0;
}
