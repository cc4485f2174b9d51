// The engine's use of an image's `config` object (engine/image_config_use.hpp):
// wrong JSON types are refused with a line naming the field (before, a
// nlohmann type_error escaped create, or Cmd [1] read as no command);
// null reads as absent, one string as docker's StrSlice. Found with the
// fuzz target image_config_use (docs/security.md, "Fuzzing").
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/container_engine.hpp"
#include "engine/image_config_use.hpp"

using namespace berth;
using namespace berth::engine;
using nlohmann::json;

namespace {

std::string refusal(const json& config) {
  try {
    checked_image_config(config);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST(ImageConfigUse, WrongTypesNameTheField) {
  EXPECT_EQ(refusal("sh"), "image config: config is a string, not an object");
  EXPECT_EQ(refusal({{"Cmd", {1, 2}}}), "image config: Cmd is an array, not an array of strings");
  EXPECT_EQ(refusal({{"User", 7}}), "image config: User is a number, not a string");
  EXPECT_EQ(refusal({{"Env", "A=1"}}), "image config: Env is a string, not an array of strings");
  EXPECT_EQ(refusal({{"Labels", {{"a", 1}}}}), "image config: Labels.a is a number, not a string");
  EXPECT_EQ(refusal({{"Volumes", {"/data"}}}), "image config: Volumes is an array, not an object");
  EXPECT_EQ(refusal({{"Healthcheck", {{"Test", "true"}}}}),
            "image config: Healthcheck.Test is a string, not an array of strings");
  EXPECT_EQ(refusal({{"Healthcheck", {{"Interval", 1e300}}}}), "image config: Healthcheck.Interval is a number, not an integer");
  EXPECT_EQ(refusal({{"Healthcheck", {{"Retries", -1}}}}), "image config: Healthcheck.Retries -1 is out of range");
  EXPECT_EQ(refusal({{"StopTimeout", 18446744073709551615ull}}), "image config: StopTimeout 18446744073709551615 is out of range");
}

TEST(ImageConfigUse, NullIsAbsentAndOneStringIsACommand) {
  EXPECT_EQ(checked_image_config(nullptr), json::object());
  json c = checked_image_config({{"Entrypoint", "/entry.sh"}, {"Cmd", "run"}, {"User", nullptr}, {"Env", nullptr}});
  ContainerConfig cc;
  EXPECT_EQ(apply_image_config(cc, c), (std::vector<std::string>{"/entry.sh", "run"}));
  EXPECT_EQ(cc.user, "");
}

TEST(ImageConfigUse, AppliesStopSignalHealthcheckAndPorts) {
  json c = checked_image_config({{"Cmd", {"sh"}},
                                 {"StopSignal", "SIGQUIT"},
                                 {"ExposedPorts", {{"80/tcp", json::object()}}},
                                 {"Healthcheck", {{"Test", {"CMD", "true"}}, {"Interval", 5000000000}, {"Retries", 2}}}});
  ContainerConfig cc;
  EXPECT_EQ(apply_image_config(cc, c), (std::vector<std::string>{"sh"}));
  EXPECT_EQ(cc.stop_signal, "SIGQUIT");
  EXPECT_EQ(cc.exposed_ports, (std::vector<std::string>{"80/tcp"}));
  ASSERT_TRUE(cc.healthcheck);
  EXPECT_EQ(cc.healthcheck->interval_ns, 5000000000);
  EXPECT_EQ(cc.healthcheck->retries, 2);
  // A stop signal the kernel has not is refused, RTMIN+N past SIGRTMAX too.
  ContainerConfig bad;
  EXPECT_THROW(apply_image_config(bad, checked_image_config({{"Cmd", {"sh"}}, {"StopSignal", "RTMIN+2147483647"}})), Error);
  EXPECT_THROW(parse_signal("99999999999"), Error);
  EXPECT_EQ(parse_signal("RTMIN"), SIGRTMIN);
  EXPECT_EQ(parse_signal(std::string("RTMIN+") + std::to_string(SIGRTMAX - SIGRTMIN)), SIGRTMAX);
}
