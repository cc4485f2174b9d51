#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "oci/image_spec.hpp"

using berth::ErrorKind;

namespace {

ErrorKind kind_of(const std::string& config) {
  try {
    berth::oci::parse_config(config, "config.json");
  } catch (const berth::Error& e) {
    return e.kind();
  }
  return ErrorKind::Internal;  // accepted
}

}  // namespace

// Found by tests/fuzz/oci_image: os() and architecture() read these as
// strings, so a config where they are not is refused when parsed, with a
// berth::Error naming the field, not a json type_error later.
TEST(ImageConfig, HistoryIsTypedAsDockers) {
  // `berth history` read history[i] with json's value(): a number there,
  // or a created_by that is a number, threw json's type_error.
  const std::string rootfs = R"("rootfs":{"type":"layers","diff_ids":[]})";
  for (const char* bad : {R"("history":[1])", R"("history":{"a":1})", R"("history":[{"created_by":5}])",
                          R"("history":[{"empty_layer":"yes"}])", R"("history":[{"comment":null}])",
                          R"("created":7)", R"("author":[])"})
    EXPECT_EQ(kind_of("{" + std::string(bad) + "," + rootfs + "}"), ErrorKind::InvalidArgument) << bad;
  try {
    berth::oci::parse_config(R"({"history":[{},{"created_by":5}],)" + rootfs + "}", "config.json");
    ADD_FAILURE() << "no error";
  } catch (const berth::Error& e) {
    EXPECT_EQ(std::string(e.what()), "config.json: history[1].created_by is not a string");
  }
  auto ok = berth::oci::parse_config(
      R"({"created":"2024-01-01T00:00:00Z","history":[{"created":"2024-01-01T00:00:00Z","created_by":"/bin/sh","empty_layer":true}],)" +
          rootfs + "}",
      "config.json");
  EXPECT_EQ(ok.created(), "2024-01-01T00:00:00Z");
  EXPECT_NO_THROW(berth::oci::parse_config(R"({"history":null,)" + rootfs + "}", "config.json"));
}

TEST(ImageConfig, OsAndArchitectureMustBeStrings) {
  const std::string rootfs = R"("rootfs":{"type":"layers","diff_ids":[]})";
  EXPECT_EQ(kind_of("{\"os\":1," + rootfs + "}"), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of("{\"architecture\":[]," + rootfs + "}"), ErrorKind::InvalidArgument);
  auto c = berth::oci::parse_config("{\"os\":\"linux\",\"architecture\":\"amd64\"," + rootfs + "}", "config.json");
  EXPECT_EQ(c.os(), "linux");
  EXPECT_EQ(c.architecture(), "amd64");
  auto bare = berth::oci::parse_config("{" + rootfs + "}", "config.json");
  EXPECT_EQ(bare.os(), "");
  try {
    berth::oci::parse_config("{\"os\":1," + rootfs + "}", "config.json");
  } catch (const berth::Error& e) {
    EXPECT_EQ(std::string(e.what()), "config.json: os is not a string");
  }
}

// Found by tests/fuzz/image_archive: schemaVersion was read with get<int>,
// undefined behaviour for a number such as 3e122. It must be the integer 2.
TEST(ImageSpec, SchemaVersionMustBeTheInteger2) {
  const std::string manifests = R"("manifests":[])";
  for (const char* v : {"3e122", "2.0", "\"2\"", "-2", "1", "18446744073709551617"}) {
    try {
      berth::oci::parse_index(std::string("{\"schemaVersion\":") + v + "," + manifests + "}", "index.json");
      ADD_FAILURE() << "schemaVersion " << v << " was taken";
    } catch (const berth::Error& e) {
      EXPECT_NE(std::string(e.what()).find("unsupported schemaVersion"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(berth::oci::parse_index("{\"schemaVersion\":2," + manifests + "}", "index.json").schema_version, 2);
}
