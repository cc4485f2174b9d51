// The request target and the create body (api/http.hpp parse_target,
// version_number; router.hpp parse_create_request), the parts the fuzz
// target api_request reaches (docs/security.md, "Fuzzing").
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "engine/container_engine.hpp"

namespace berth::api {
namespace {

TEST(RequestTarget, PathVersionAndQuery) {
  Request r;
  parse_target("/v1.43/containers/json?all=1&filters=%7B%22a%22%3A1%7D&names=a&names=b+c", r);
  EXPECT_EQ(r.path, "/containers/json");
  EXPECT_EQ(r.api_version, "1.43");
  EXPECT_EQ(r.query["all"], "1");
  EXPECT_EQ(r.query["filters"], R"({"a":1})");
  EXPECT_EQ(r.all("names"), (std::vector<std::string>{"a", "b c"}));
}

TEST(RequestTarget, VersionNumbersThatWouldOverflowAreMalformed) {
  EXPECT_EQ(version_number("1.43"), 1043);
  EXPECT_EQ(version_number("1"), -1);
  EXPECT_EQ(version_number("99999999999.1"), -1);  // atoi overflowed, then * 1000
  EXPECT_EQ(version_number("3000000.0"), -1);
  EXPECT_EQ(version_number("1.4x"), -1);
}

TEST(CreateBody, IntoTheEngineRequest) {
  Request r;
  r.query["name"] = "/web";
  r.body = R"({"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"default","Memory":67108864}})";
  engine::CreateRequest c = parse_create_request(r);
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.config.image, "busybox");
  EXPECT_EQ(c.host.memory, 67108864);
  EXPECT_EQ(c.host.network_mode, "bridge");  // docker's "default" is berth's bridge network
  r.body = R"({"Cmd":["true"]})";
  EXPECT_THROW(parse_create_request(r), Error);
}

}  // namespace
}  // namespace berth::api
