#include <gtest/gtest.h>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "image/reference.hpp"
#include "oci/image_spec.hpp"

using berth::image::parse_reference;

TEST(Reference, NormalisesLikeDocker) {
  EXPECT_EQ(parse_reference("busybox").str(), "docker.io/library/busybox:latest");
  EXPECT_EQ(parse_reference("busybox:1.36").str(), "docker.io/library/busybox:1.36");
  EXPECT_EQ(parse_reference("me/app").str(), "docker.io/me/app:latest");
  EXPECT_EQ(parse_reference("docker.io/library/busybox:latest").familiar(), "busybox:latest");
  EXPECT_EQ(parse_reference("index.docker.io/me/app:v1").familiar(), "me/app:v1");
  EXPECT_EQ(parse_reference("quay.io/x/y").str(), "quay.io/x/y:latest");
  EXPECT_EQ(parse_reference("localhost:5000/app:2").domain, "localhost:5000");
  EXPECT_EQ(parse_reference("localhost/app").domain, "localhost");
  std::string d = "sha256:" + std::string(64, 'a');
  auto r = parse_reference("busybox@" + d);
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.digest, d);
  EXPECT_EQ(r.str(), "docker.io/library/busybox@" + d);
  EXPECT_EQ(parse_reference("busybox:1@" + d).str(), "docker.io/library/busybox:1@" + d);
}

// Found by tests/fuzz/reference: the short form of a Docker Hub repository
// whose first component looks like a registry must not name that registry.
TEST(Reference, FamiliarFormNeverNamesAnotherRegistry) {
  EXPECT_EQ(parse_reference("docker.io/quay.io/x:1").familiar(), "docker.io/quay.io/x:1");
  EXPECT_EQ(parse_reference("docker.io/localhost/x").familiar(), "docker.io/localhost/x:latest");
  EXPECT_EQ(parse_reference("docker.io/me/app:v1").familiar(), "me/app:v1");
  for (const char* in : {"docker.io/quay.io/x:1", "docker.io/a.b/c", "me/app", "busybox", "quay.io/x/y"}) {
    auto r = parse_reference(in);
    EXPECT_EQ(parse_reference(r.familiar()).str(), r.str()) << in;
  }
}

TEST(Reference, RejectsBadInput) {
  for (const char* bad : {"", "Busybox", "busy box", "busybox:", "busybox:-x", "a//b", "busybox@sha256:abc",
                          "/busybox", "busybox/", ":tag"}) {
    EXPECT_THROW(parse_reference(bad), berth::Error) << bad;
  }
  try {
    parse_reference("Busybox");
  } catch (const berth::Error& e) {
    EXPECT_EQ(e.kind(), berth::ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("Busybox"), std::string::npos);
  }
}

TEST(Digest, Sha256AndValidation) {
  EXPECT_EQ(berth::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  berth::Sha256 h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(berth::is_sha256_digest("sha256:" + std::string(64, '0')));
  EXPECT_FALSE(berth::is_sha256_digest("sha256:" + std::string(64, 'G')));
  EXPECT_THROW(berth::digest_hex("sha512:00"), berth::Error);
}

TEST(ImageSpec, ChainIdsAndManifest) {
  std::string a = "sha256:" + std::string(64, 'a'), b = "sha256:" + std::string(64, 'b');
  auto c = berth::oci::chain_ids({a, b});
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], a);
  EXPECT_EQ(c[1], berth::sha256_digest(a + " " + b));
  EXPECT_THROW(berth::oci::parse_manifest("{\"schemaVersion\":2}", "m"), berth::Error);
  EXPECT_THROW(berth::oci::parse_manifest("not json", "m"), berth::Error);
  auto m = berth::oci::parse_manifest(
      R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + a + R"(","size":1},"layers":[]})", "m");
  EXPECT_EQ(m.config.digest, a);
}

#include "image/image_store.hpp"

TEST(Presentation, DockerStyleSizesAndTimes) {
  EXPECT_EQ(berth::image::human_size(1980000), "1.98MB");
  EXPECT_EQ(berth::image::human_size(999), "999B");
  EXPECT_EQ(berth::image::human_size(4261234), "4.26MB");
  EXPECT_EQ(berth::image::parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(berth::image::parse_rfc3339("2024-01-01T02:00:00.5+02:00"), 1704067200);
  EXPECT_EQ(berth::image::parse_rfc3339("garbage"), -1);
  EXPECT_EQ(berth::image::parse_rfc3339_nanos("1970-01-01T00:00:01.000000002Z"), 1000000002);
  EXPECT_EQ(berth::image::parse_rfc3339_nanos("2024-01-01T02:00:00.5+02:00"), 1704067200500000000);
  EXPECT_EQ(berth::image::parse_rfc3339_nanos("1970-01-01T00:00:03.1234567891Z"), 3123456789);
  EXPECT_EQ(berth::image::parse_rfc3339_nanos("1970-01-01T00:00:03Z"), 3000000000);
  EXPECT_EQ(berth::image::parse_rfc3339_nanos("garbage"), -1);
  EXPECT_EQ(berth::image::parse_rfc3339_nanos("9999-12-31T23:59:59.9Z"), INT64_MAX);
  EXPECT_EQ(berth::image::parse_rfc3339("2024-01-01T00:00:00-05:30"), 1704087000);
  EXPECT_EQ(berth::image::parse_rfc3339("2024-1-01T00:00:00Z"), -1);     // two digits each, as RFC 3339
  EXPECT_EQ(berth::image::parse_rfc3339("2024-01-01T00:00"), -1);        // cut short
  EXPECT_EQ(berth::image::parse_rfc3339("2024-01-01 00:00:00Z"), -1);
  EXPECT_EQ(berth::image::short_id("sha256:442cf33ed81f71b43aad7c0e01d653408e48ccf20d0296c761e42f11f082653e"), "442cf33ed81f");
}
