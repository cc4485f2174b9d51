// docker's --format for list and inspect verbs: "" / "table" (the verb's
// default table), "table TEMPLATE" (a header from the field names, then a
// row each), "json" (one JSON object a line), or a Go template (a line
// each). Templates are evaluated over the rows' JSON (Docker's field names).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace berth::cli {

struct TableSpec {
  std::string default_template;                // "table {{.ID}}\t{{.Image}}..."
  std::map<std::string, std::string> headers;  // field -> header ("ID" -> "CONTAINER ID")
};

std::string format_rows(const std::string& format, const std::vector<nlohmann::json>& rows, const TableSpec& spec);
// inspect -f: the template over each object, or the JSON array when empty.
std::string format_objects(const std::string& format, const std::vector<nlohmann::json>& objects);

}  // namespace berth::cli
