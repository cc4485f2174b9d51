// The API's route matching and query parsing (src/api/router.hpp, http.hpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/router.hpp"

namespace berth::api {
namespace {

Router routes() {
  Router r;
  auto h = [](Exchange&) {};
  r.add("GET", "/containers/json", h);
  r.add("GET", "/containers/{id}/json", h);
  r.add("DELETE", "/containers/{id}", h);
  r.add("GET", "/images/{name*}/json", h);
  r.add("POST", "/images/{name*}/tag", h);
  return r;
}

TEST(ApiRouter, LiteralsWinOverParams) {
  Router r = routes();
  std::map<std::string, std::string> p;
  bool known = false;
  const Route* m = r.match("GET", "/containers/json", p, &known);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->parts.size(), 2u);
  EXPECT_TRUE(p.empty());
  m = r.match("GET", "/containers/abc/json", p, &known);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(p["id"], "abc");
}

TEST(ApiRouter, GreedyImageNamesKeepTheirSlashes) {
  Router r = routes();
  std::map<std::string, std::string> p;
  bool known = false;
  ASSERT_NE(r.match("GET", "/images/docker.io/library/busybox:latest/json", p, &known), nullptr);
  EXPECT_EQ(p["name"], "docker.io/library/busybox:latest");
  ASSERT_NE(r.match("POST", "/images/busybox/tag", p, &known), nullptr);
  EXPECT_EQ(p["name"], "busybox");
  EXPECT_EQ(r.match("GET", "/images/json", p, &known), nullptr);  // the name needs a segment
}

TEST(ApiRouter, HeadIsGetAndOtherMethodsAreKnownPaths) {
  Router r = routes();
  std::map<std::string, std::string> p;
  bool known = false;
  EXPECT_NE(r.match("HEAD", "/containers/x/json", p, &known), nullptr);
  EXPECT_EQ(r.match("PUT", "/containers/x/json", p, &known), nullptr);
  EXPECT_TRUE(known);
  EXPECT_EQ(r.match("GET", "/nothing/here", p, &known), nullptr);
  EXPECT_FALSE(known);
}

TEST(ApiRequest, FiltersInBothOfDockersShapes) {
  Request q;
  q.query["filters"] = R"({"status":["running","paused"],"label":{"a=b":true,"c":false}})";
  auto f = q.filters();
  EXPECT_EQ(f["status"], (std::vector<std::string>{"running", "paused"}));
  EXPECT_EQ(f["label"], (std::vector<std::string>{"a=b"}));
  q.query["filters"] = "{nope";
  EXPECT_THROW(q.filters(), Error);
}

TEST(ApiRequest, FlagsNumbersAndBodies) {
  Request q;
  q.query = {{"all", "1"}, {"force", "false"}, {"t", "5"}, {"bad", "5x"}};
  EXPECT_TRUE(q.flag("all"));
  EXPECT_FALSE(q.flag("force", true));
  EXPECT_TRUE(q.flag("missing", true));
  EXPECT_EQ(q.number("t", -1), 5);
  EXPECT_THROW(q.number("bad", -1), Error);
  q.body = "";
  EXPECT_TRUE(q.json_body().empty());
  q.body = "[1]";
  EXPECT_THROW(q.json_body(), Error);
  q.body = "{\"a\":";
  try {
    q.json_body();
    FAIL() << "a malformed body was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_EQ(status_of(e.kind()), 400);
  }
}

}  // namespace
}  // namespace berth::api
