// docker's --format dispatch for list-like commands (ps, images, stats,
// volume ls, info): the value picks a table, JSON lines or a template, as
// docker's cli/command/formatter does.
//
//   ""  or "table"     the command's default table, with a header row
//   "table TEMPLATE"   TEMPLATE's cells, with a header row
//   "json"             each row as one line of JSON ({{json .}}, docker 24+)
//   anything else      a template, one output line per row, no header
//
// As docker does: "table" is a prefix ("tableX" is the template "X"), spaces
// around the template are trimmed, and the two-character sequences \t and \n
// become a tab and a newline (so `--format 'table {{.ID}}\t{{.Image}}'`
// works from a shell). In a table, tabs separate cells, aligned by docker's
// tabwriter settings (common/table_writer.hpp). The header row is the
// template run over the column titles: each field the template reads gets
// its title from `headers` ("ID" -> "CONTAINER ID") or, if not there, its
// name in upper case; docker's HeaderFunctions apply (join, upper... leave
// the title as it is). A missing field in a row is an error
// (gotmpl::MissingKey::Error).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/go_template.hpp"

namespace berth {

// Column titles by field name.
using HeaderNames = std::map<std::string, std::string, std::less<>>;

class OutputFormat {
 public:
  enum class Kind { Table, Json, Template };

  // default_table: the command's table, its cells separated by tabs, with or
  // without the "table " prefix ("{{.ID}}\t{{.Image}}"). Throws
  // Error(InvalidArgument) "template parsing error: ..." on a bad template.
  OutputFormat(std::string_view format, std::string_view default_table, HeaderNames headers = {});

  Kind kind() const noexcept { return kind_; }
  const gotmpl::Template& row_template() const noexcept { return template_; }

  // The whole output for rows (a JSON array, one element per row; any other
  // value is one row), each line ending in '\n'. A table has its header row
  // even with no rows. Throws on a row the template fails on.
  std::string render(const nlohmann::json& rows) const;

 private:
  Kind kind_;
  gotmpl::Template template_;
  HeaderNames headers_;
};

}  // namespace berth
