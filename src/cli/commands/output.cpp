#include "cli/commands/output.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "common/go_template.hpp"
#include "common/json_text.hpp"
#include "common/output_format.hpp"

namespace berth::cli {

using nlohmann::json;

std::string format_rows(const std::string& format, std::vector<json> rows, const TableSpec& spec) {
  HeaderNames headers(spec.headers.begin(), spec.headers.end());
  OutputFormat f(format, spec.default_template, headers);
  json arr = json::array();
  arr.get_ref<json::array_t&>() = std::move(rows);
  return f.render(arr);
}

bool format_uses_field(const std::string& format, const TableSpec& spec, std::string_view key) {
  std::string_view t = format.empty() || format == "table" ? spec.default_template : format;
  // `json`, `{{json .}}`, `{{.}}`, `index`, variables and ranges see every field.
  for (std::string_view every : {"json", "{{.}}", "index", "$", "range", "with"})
    if (t.find(every) != std::string_view::npos) return true;
  for (size_t dot = t.find('.'); dot != std::string_view::npos; dot = t.find('.', dot + 1)) {
    size_t end = dot + 1;
    while (end < t.size() && (std::isalnum(static_cast<unsigned char>(t[end])) || t[end] == '_')) ++end;
    std::string_view name = t.substr(dot + 1, end - dot - 1);
    if (!name.empty() && (key.substr(0, name.size()) == name || name.substr(0, key.size()) == key)) return true;
  }
  return false;
}

std::string format_objects(const std::string& format, const std::vector<json>& objects) {
  if (format.empty()) {
    json arr = json::array();
    for (const auto& o : objects) arr.push_back(o);
    return json_text(arr, 4) + "\n";
  }
  if (format == "json") {
    std::string out;
    for (const auto& o : objects) out += json_text(o) + "\n";
    return out;
  }
  // inspect -f: the template as typed, no table logic (as docker's).
  gotmpl::Template t = gotmpl::parse(format);
  std::string out;
  for (const auto& o : objects) out += t.execute(o) + "\n";
  return out;
}

}  // namespace berth::cli
