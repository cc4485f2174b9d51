// The token service's answer (registry/www_authenticate.hpp,
// parse_token_answer): a token of another type, or an answer that is no
// object, was nlohmann's type_error escaping the pull; a huge expires_in
// overflowed the expiry time (docs/security.md, "Fuzzing").
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "registry/www_authenticate.hpp"

using namespace berth;
using namespace berth::registry;

namespace {

std::string refusal(std::string_view body) {
  try {
    parse_token_answer(body, "r.example");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST(TokenAnswer, TokenOrAccessTokenAndLifetime) {
  auto a = parse_token_answer(R"({"token":"t","expires_in":300})", "r.example");
  EXPECT_EQ(a.token, "t");
  EXPECT_EQ(a.expires_in, 300);
  a = parse_token_answer(R"({"access_token":"u"})", "r.example");
  EXPECT_EQ(a.token, "u");
  EXPECT_EQ(a.expires_in, 60);
  EXPECT_EQ(parse_token_answer(R"({"token":"t","expires_in":5})", "r.example").expires_in, 60);
  EXPECT_EQ(parse_token_answer(R"({"token":"t","expires_in":18446744073709551615})", "r.example").expires_in,
            365 * 24 * 3600);
  EXPECT_EQ(parse_token_answer(R"({"token":"t","expires_in":-9223372036854775808})", "r.example").expires_in, 60);
}

TEST(TokenAnswer, WrongTypesAreCorruptNotTypeErrors) {
  EXPECT_EQ(refusal("[]"), "registry r.example: token service answered something that is not a JSON object");
  EXPECT_EQ(refusal("not json"), "registry r.example: token service answered something that is not a JSON object");
  EXPECT_EQ(refusal(R"({"token":42})"), "registry r.example: token service gave no token");
  EXPECT_EQ(refusal(R"({"token":"","access_token":["x"]})"), "registry r.example: token service gave no token");
}
