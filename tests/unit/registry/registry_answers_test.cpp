// A registry's answers read apart from HTTP (registry/registry_answers.hpp):
// error bodies, what a manifest says it is, tag pages and their next link.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "registry/registry_answers.hpp"

using namespace berth;
using namespace berth::registry;

TEST(RegistryAnswers, ErrorBodiesGiveTheirMessagesOrCodes) {
  EXPECT_EQ(error_message(R"({"errors":[{"code":"DENIED","message":"requested access is denied"}]})"),
            "requested access is denied");
  EXPECT_EQ(error_message(R"({"errors":[{"code":"UNAUTHORIZED"},{"message":"two"}]})"), "UNAUTHORIZED; two");
  // Not the API's shape, or members of other types: nothing, never an exception.
  for (const char* body : {"", "<html>502</html>", "[]", R"({"errors":{}})", R"({"errors":[1,"x",null]})",
                           R"({"errors":[{"message":7,"code":[]}]})"})
    EXPECT_EQ(error_message(body), "") << body;
}

TEST(RegistryAnswers, AManifestSaysWhatItIs) {
  auto k = sniff_manifest(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})",
                          "application/json; charset=utf-8", "r/x:1");
  EXPECT_EQ(k.media_type, "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(k.schema_version, 2);
  k = sniff_manifest(R"({"schemaVersion":2})", "application/vnd.oci.image.manifest.v1+json; x=y", "r/x:1");
  EXPECT_EQ(k.media_type, "application/vnd.oci.image.manifest.v1+json");  // Content-Type without parameters
  // A version that is no small integer is no version (get<int> of 1e300 was undefined behaviour).
  for (const char* v : {"1e300", "1.0", "\"1\"", "-1", "18446744073709551615", "99999999999"})
    EXPECT_EQ(sniff_manifest(std::string(R"({"schemaVersion":)") + v + "}", "", "r/x:1").schema_version, 0) << v;
  try {
    sniff_manifest("{not json", "", "r/x:1");
    FAIL() << "not JSON was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
    EXPECT_STREQ(e.what(), "r/x:1: manifest is not JSON");
  }
}

TEST(RegistryAnswers, TagPagesAndTheirNextLink) {
  EXPECT_EQ(parse_tags(R"({"name":"r","tags":["1","latest",2,null]})", "tags"),
            (std::vector<std::string>{"1", "latest"}));
  EXPECT_TRUE(parse_tags(R"({"name":"r","tags":null})", "tags").empty());
  EXPECT_THROW(parse_tags("nope", "tags"), Error);
  const std::string base = "https://reg.example:5000";
  EXPECT_EQ(next_link(R"(</v2/r/tags/list?last=b&n=2>; rel="next")", base, "tags"), "/v2/r/tags/list?last=b&n=2");
  EXPECT_EQ(next_link(R"(<https://reg.example:5000/v2/r/tags/list?last=b>; rel="next")", base, "tags"),
            "https://reg.example:5000/v2/r/tags/list?last=b");
  EXPECT_EQ(next_link(R"(</v2/r/tags/list?n=1>; rel="prev", </v2/r/tags/list?last=z>; rel="next")", base, "tags"),
            "/v2/r/tags/list?last=z");
  EXPECT_EQ(next_link("", base, "tags"), "");
  EXPECT_EQ(next_link(R"(</v2/r/tags/list?n=1>; rel="prev")", base, "tags"), "");
  // Elsewhere: the request, with the registry's token, would go to another host.
  for (const char* link : {R"(<https://evil.example/v2/r/tags/list>; rel="next")",
                           R"(<//evil.example/v2/r/tags/list>; rel="next")",
                           R"(<https://reg.example:5000.evil.example/x>; rel="next")",
                           R"(<https://reg.example:50000/x>; rel="next")"}) {
    try {
      next_link(link, base, "tags of reg.example:5000/r");
      FAIL() << "followed " << link;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << link;
      EXPECT_NE(std::string(e.what()).find("not on the registry"), std::string::npos) << e.what();
    }
  }
}
