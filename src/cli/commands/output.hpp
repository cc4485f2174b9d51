// docker's --format for list and inspect verbs: "" / "table" (the verb's
// default table), "table TEMPLATE" (a header from the field names, then a
// row each), "json" (one JSON object a line), or a Go template (a line
// each). Templates are evaluated over the rows' JSON (Docker's field names).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace berth::cli {

struct TableSpec {
  std::string default_template;                // "table {{.ID}}\t{{.Image}}..."
  std::map<std::string, std::string> headers;  // field -> header ("ID" -> "CONTAINER ID")
};

std::string format_rows(const std::string& format, std::vector<nlohmann::json> rows, const TableSpec& spec);
// Whether a row's field `key` can be seen through `format` (the default
// table when ""): named as `.Key` (or a prefix of it, for methods such as
// `.Label "k"`) in a template that reaches fields no other way. A row
// builder makes only those.
bool format_uses_field(const std::string& format, const TableSpec& spec, std::string_view key);
// inspect -f: the template over each object, or the JSON array when empty.
std::string format_objects(const std::string& format, const std::vector<nlohmann::json>& objects);

}  // namespace berth::cli
