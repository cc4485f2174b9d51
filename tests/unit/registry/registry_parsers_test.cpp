// Pure parts of the registry client: WWW-Authenticate, platforms, the
// index entry chosen, config.json credentials.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "registry/platform.hpp"
#include "registry/registry_config.hpp"
#include "registry/www_authenticate.hpp"

using namespace berth;
using namespace berth::registry;

TEST(WwwAuthenticate, BearerWithQuotedParams) {
  auto v = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].scheme, "bearer");
  EXPECT_EQ(v[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(v[0].param("service"), "registry.docker.io");
  EXPECT_EQ(v[0].param("scope"), "repository:library/busybox:pull");
}

TEST(WwwAuthenticate, SeveralChallengesEscapesAndCase) {
  auto v = parse_www_authenticate(R"(Basic realm="a \"quoted\" realm", BEARER Realm=https://x/token , error="insufficient_scope")");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].scheme, "basic");
  EXPECT_EQ(v[0].param("realm"), "a \"quoted\" realm");
  EXPECT_EQ(v[1].scheme, "bearer");
  EXPECT_EQ(v[1].param("realm"), "https://x/token");
  EXPECT_EQ(v[1].param("error"), "insufficient_scope");
}

TEST(WwwAuthenticate, GarbageNeverThrowsNorLoops) {
  for (const char* s : {"", ",,,", "=", "Bearer =x", "Bearer realm=\"unterminated", "\"\"\"", "Basic abc==",
                        "Bearer realm", "  Bearer   realm = \"x\" ,,, scope=y", "\x01\x02\xff"}) {
    auto v = parse_www_authenticate(s);
    EXPECT_LE(v.size(), 3u) << s;
  }
  EXPECT_EQ(parse_www_authenticate("  Bearer   realm = \"x\" ,,, scope=y")[0].param("scope"), "y");
}

TEST(Platform, ParseAndNormalise) {
  EXPECT_EQ(to_string(parse_platform("linux/amd64")), "linux/amd64");
  EXPECT_EQ(to_string(parse_platform("linux/x86_64")), "linux/amd64");
  EXPECT_EQ(to_string(parse_platform("linux/arm64/v8")), "linux/arm64");
  EXPECT_EQ(to_string(parse_platform("linux/arm")), "linux/arm/v7");
  for (const char* bad : {"linux", "linux/", "/amd64", "linux/amd64/v1/x", "Linux/AMD64"})
    EXPECT_THROW(parse_platform(bad), Error) << bad;
}

static oci::Descriptor entry(const std::string& digest, std::string os, std::string arch, std::string variant = "") {
  oci::Descriptor d;
  d.digest = digest;
  d.platform = oci::Platform{std::move(os), std::move(arch), std::move(variant)};
  return d;
}

TEST(Platform, SelectSkipsAttestationsAndOtherPlatforms) {
  oci::Index idx;
  idx.manifests = {entry("a", "unknown", "unknown"), entry("b", "linux", "arm", "v6"), entry("c", "linux", "arm", "v7"),
                   entry("d", "linux", "amd64"), entry("e", "linux", "arm64", "v8")};
  EXPECT_EQ(select_platform(idx, parse_platform("linux/amd64"), "x").digest, "d");
  EXPECT_EQ(select_platform(idx, parse_platform("linux/arm/v7"), "x").digest, "c");
  EXPECT_EQ(select_platform(idx, parse_platform("linux/arm64"), "x").digest, "e");
  try {
    select_platform(idx, parse_platform("linux/s390x"), "img");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("it offers linux/arm/v6, linux/arm/v7, linux/amd64, linux/arm64"),
              std::string::npos)
        << e.what();
  }
  oci::Index only_attestation;
  only_attestation.manifests = {entry("a", "unknown", "unknown")};
  EXPECT_THROW(select_platform(only_attestation, host_platform(), "x"), Error);
}

TEST(RegistryConfig, StoreReadEraseAsDockerWritesIt) {
  auto dir = std::filesystem::temp_directory_path() / ("berth-regcfg-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    RegistryConfig c(dir.string());
    EXPECT_FALSE(c.credentials("127.0.0.1:5000"));
    c.store("127.0.0.1:5000", {"alice", "pa:ss"});
    c.store("docker.io", {"bob", "x"});
  }
  struct stat st;
  ASSERT_EQ(::stat((dir / "config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto j = nlohmann::json::parse(fs::read_file((dir / "config.json").string()));
  EXPECT_EQ(j["auths"]["127.0.0.1:5000"]["auth"], base64_encode("alice:pa:ss"));
  EXPECT_TRUE(j["auths"].contains("https://index.docker.io/v1/"));
  RegistryConfig c(dir.string());
  auto cr = c.credentials("127.0.0.1:5000");
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->username, "alice");
  EXPECT_EQ(cr->password, "pa:ss");
  EXPECT_TRUE(c.erase("127.0.0.1:5000"));
  EXPECT_FALSE(c.erase("127.0.0.1:5000"));
  EXPECT_FALSE(RegistryConfig(dir.string()).credentials("127.0.0.1:5000"));
  fs::write_file((dir / "config.json").string(), "{not json");
  EXPECT_THROW(RegistryConfig(dir.string()), Error);
  std::filesystem::remove_all(dir);
}

TEST(RegistryConfig, Base64RoundTrip) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "user:pass"}) EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_FALSE(base64_decode("abc"));
}
