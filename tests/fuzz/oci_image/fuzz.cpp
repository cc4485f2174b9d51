// OCI image manifest, index and config (src/oci/image_spec.cpp): what a
// registry, an OCI layout or an archive hands us. Each parser sees every
// input; one that accepts must serialise to bytes it accepts again with
// the same meaning (the content store keeps what serialize() writes).
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "oci/image_spec.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  fuzz::reject([&] {
    oci::Manifest m = oci::parse_manifest(in, "fuzz manifest");
    std::string s = oci::serialize(m);
    FUZZ_CHECK(oci::serialize(oci::parse_manifest(s, "reserialised manifest")) == s, s);
  });
  fuzz::reject([&] {
    oci::Index i = oci::parse_index(in, "fuzz index");
    std::string s = oci::serialize(i);
    FUZZ_CHECK(oci::serialize(oci::parse_index(s, "reserialised index")) == s, s);
  });
  fuzz::reject([&] {
    oci::ImageConfig c = oci::parse_config(in, "fuzz config");
    auto diffs = c.diff_ids();
    (void)c.os();
    (void)c.architecture();
    (void)c.created();
    auto chain = oci::chain_ids(diffs);
    FUZZ_CHECK(chain.size() == diffs.size(), "chain_ids lost layers");
  });
  return 0;
}
