// docker's --format dispatch: table, "table TEMPLATE", json and raw
// templates, with the output docker prints for the same rows.
#include "common/output_format.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "test_support.hpp"

namespace {

using berth::Error;
using berth::ErrorKind;
using berth::OutputFormat;
using nlohmann::json;

constexpr std::string_view kPsTable = "table {{.ID}}\t{{.Image}}\t{{.Status}}\t{{.Names}}";

const berth::HeaderNames& ps_headers() {
  static const berth::HeaderNames h = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Status", "STATUS"},
                                       {"Names", "NAMES"},     {"CreatedAt", "CREATED AT"}};
  return h;
}

const json& ps_rows() {
  static const json rows = json::parse(R"([
    {"ID": "3f2a9c1b7d4e", "Image": "nginx:latest", "Status": "Up 2 hours", "Names": "web", "Labels": {"a": "1"}},
    {"ID": "a1b2c3d4e5f6", "Image": "busybox", "Status": "Exited (0) 5 seconds ago", "Names": "a-long-name", "Labels": {}}
  ])");
  return rows;
}

std::string render(std::string_view format, const json& rows = ps_rows()) {
  return OutputFormat(format, kPsTable, ps_headers()).render(rows);
}

TEST(OutputFormat, DefaultTable) {
  const std::string expected =
      "CONTAINER ID   IMAGE          STATUS                     NAMES\n"
      "3f2a9c1b7d4e   nginx:latest   Up 2 hours                 web\n"
      "a1b2c3d4e5f6   busybox        Exited (0) 5 seconds ago   a-long-name\n";
  EXPECT_EQ(render("table"), expected);
  EXPECT_EQ(render(""), expected);
  EXPECT_EQ(OutputFormat("table", kPsTable).kind(), OutputFormat::Kind::Table);
}

TEST(OutputFormat, TableOfATemplateWithDockersBackslashEscapes) {
  // What a shell passes for --format 'table {{.ID}}\t{{.Names}}'.
  EXPECT_EQ(render(R"(table {{.ID}}\t{{.Names}})"),
            "CONTAINER ID   NAMES\n"
            "3f2a9c1b7d4e   web\n"
            "a1b2c3d4e5f6   a-long-name\n");
  EXPECT_EQ(render("table {{.ID}}\t{{.Names}}"), render(R"(table {{.ID}}\t{{.Names}})"));
  // Unknown fields are titled in upper case; HeaderFunctions keep titles.
  EXPECT_EQ(render(R"(table {{.Names}}\t{{json .Labels}}\t{{upper .Image}})"),
            "NAMES         LABELS      IMAGE\n"
            "web           {\"a\":\"1\"}   NGINX:LATEST\n"
            "a-long-name   {}          BUSYBOX\n");
  EXPECT_EQ(render("tableX{{.Names}}"), "XNAMES\nXweb\nXa-long-name\n");  // "table" is a prefix
}

TEST(OutputFormat, TableWithNoRowsIsItsHeader) {
  EXPECT_EQ(render("table", json::array()), "CONTAINER ID   IMAGE     STATUS    NAMES\n");
}

TEST(OutputFormat, RawTemplateIsOneLinePerRowWithoutHeader) {
  EXPECT_EQ(render("{{.ID}}: {{.Names}}"), "3f2a9c1b7d4e: web\na1b2c3d4e5f6: a-long-name\n");
  EXPECT_EQ(render(R"(  {{.Names}}\t{{.Status}}  )"), "web\tUp 2 hours\na-long-name\tExited (0) 5 seconds ago\n");
  EXPECT_EQ(render("{{.Names}}", json::array()), "");
  EXPECT_EQ(OutputFormat("{{.ID}}", kPsTable).kind(), OutputFormat::Kind::Template);
}

TEST(OutputFormat, JsonIsOneObjectPerLine) {
  EXPECT_EQ(render("json"),
            R"({"ID":"3f2a9c1b7d4e","Image":"nginx:latest","Labels":{"a":"1"},"Names":"web","Status":"Up 2 hours"})"
            "\n"
            R"({"ID":"a1b2c3d4e5f6","Image":"busybox","Labels":{},"Names":"a-long-name","Status":"Exited (0) 5 seconds ago"})"
            "\n");
  EXPECT_EQ(OutputFormat("json", kPsTable).kind(), OutputFormat::Kind::Json);
}

TEST(OutputFormat, OneObjectIsOneRow) {  // info, inspect-like commands
  EXPECT_EQ(OutputFormat("{{.ServerVersion}}", "").render(json{{"ServerVersion", "0.1.0"}}), "0.1.0\n");
}

TEST(OutputFormat, ErrorsAreDockers) {
  try {
    render(R"(table {{.ID}}\t{{.Nope}})");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_STREQ(e.what(), "template parsing error: template: :1:10: executing \"\" at <.Nope>: "
                           "can't evaluate field Nope in type map[string]interface {}");
  }
  try {
    OutputFormat("{{.ID", kPsTable);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_STREQ(e.what(), "template parsing error: template: :1: unclosed action");
  }
  EXPECT_THROW(OutputFormat("{{nope .ID}}", kPsTable), Error);
}

}  // namespace
