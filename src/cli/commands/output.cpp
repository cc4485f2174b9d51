#include "cli/commands/output.hpp"

#include <nlohmann/json.hpp>

#include "common/go_template.hpp"
#include "common/output_format.hpp"

namespace berth::cli {

using nlohmann::json;

std::string format_rows(const std::string& format, const std::vector<json>& rows, const TableSpec& spec) {
  HeaderNames headers(spec.headers.begin(), spec.headers.end());
  OutputFormat f(format, spec.default_template, headers);
  json arr = json::array();
  for (const auto& r : rows) arr.push_back(r);
  return f.render(arr);
}

std::string format_objects(const std::string& format, const std::vector<json>& objects) {
  if (format.empty()) {
    json arr = json::array();
    for (const auto& o : objects) arr.push_back(o);
    return arr.dump(4) + "\n";
  }
  if (format == "json") {
    std::string out;
    for (const auto& o : objects) out += o.dump() + "\n";
    return out;
  }
  // inspect -f: the template as typed, no table logic (as docker's).
  gotmpl::Template t = gotmpl::parse(format);
  std::string out;
  for (const auto& o : objects) out += t.execute(o) + "\n";
  return out;
}

}  // namespace berth::cli
