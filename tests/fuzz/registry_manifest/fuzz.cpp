// What a registry answers a pull (src/registry/, src/oci/image_spec.cpp):
// a manifest list / OCI index, the choice of this platform's entry
// (select_platform, with --platform strings through parse_platform), the
// image manifest with its layers' media types, and the token service's
// JSON answer to a bearer challenge (parse_token_answer). Any registry, or
// whoever answers for one, writes these bytes. Input: the answer; a first
// line that reads as a platform ("linux/arm64/v8") is also asked for.
// Beyond not crashing: the entry chosen is one of the index's, for the
// platform asked; a token answer has a token and a lifetime of 60 s to a year.
#include <string>

#include "fuzz_support.hpp"
#include "oci/image_spec.hpp"
#include "registry/platform.hpp"
#include "registry/www_authenticate.hpp"

using namespace berth;
using namespace berth::registry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<oci::Platform> wants = {host_platform(), {"linux", "arm", ""}, {"linux", "arm64", "v8"}};
  fuzz::reject([&] { wants.push_back(parse_platform(std::string_view(in).substr(0, in.find('\n')))); });
  fuzz::reject([&] {
    oci::Index idx = oci::parse_index(in, "fuzz index");
    for (const auto& want : wants)
      fuzz::reject([&] {
        const oci::Descriptor& d = select_platform(idx, want, "fuzz index");
        FUZZ_CHECK(&d >= idx.manifests.data() && &d < idx.manifests.data() + idx.manifests.size(), "not an entry");
        FUZZ_CHECK(d.platform && d.platform->os == want.os, to_string(want));
        (void)oci::is_manifest_media_type(d.media_type);
        (void)to_string(*d.platform);
      });
  });
  fuzz::reject([&] {
    oci::Manifest m = oci::parse_manifest(in, "fuzz manifest");
    for (const auto& l : m.layers) (void)oci::is_layer_media_type(l.media_type);
    (void)oci::is_index_media_type(m.media_type);
  });
  fuzz::reject([&] {
    TokenAnswer a = parse_token_answer(in, "fuzz.example");
    FUZZ_CHECK(!a.token.empty(), in);
    FUZZ_CHECK(a.expires_in >= 60 && a.expires_in <= 365 * 24 * 3600, std::to_string(a.expires_in));
  });
  return 0;
}
