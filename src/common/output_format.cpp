// docker's formatter.Context (preFormat, parseFormat, postFormat) over
// JSON rows.
#include "common/output_format.hpp"

#include <nlohmann/json.hpp>

#include "common/table_writer.hpp"

namespace berth {
namespace {

constexpr std::string_view kTable = "table";

// Context.preFormat's clean-up: trim spaces, then \t and \n as typed in a
// shell become a tab and a newline.
std::string clean(std::string_view format) {
  size_t first = format.find_first_not_of(' ');
  if (first == std::string_view::npos) return {};
  format = format.substr(first, format.find_last_not_of(' ') - first + 1);
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '\\' && i + 1 < format.size() && (format[i + 1] == 't' || format[i + 1] == 'n')) {
      out += format[++i] == 't' ? '\t' : '\n';
    } else {
      out += format[i];
    }
  }
  return out;
}

}  // namespace

OutputFormat::OutputFormat(std::string_view format, std::string_view default_table, HeaderNames headers)
    : headers_(std::move(headers)) {
  std::string_view text = format;
  if (format.empty() || format == kTable) {
    kind_ = Kind::Table;
    text = default_table.starts_with(kTable) ? default_table.substr(kTable.size()) : default_table;
  } else if (format.starts_with(kTable)) {
    kind_ = Kind::Table;
    text = format.substr(kTable.size());
  } else if (format == "json") {
    kind_ = Kind::Json;
    text = "{{json .}}";
  } else {
    kind_ = Kind::Template;
  }
  template_ = gotmpl::parse(clean(text), gotmpl::MissingKey::Error);
}

std::string OutputFormat::render(const nlohmann::json& rows) const {
  std::string body;
  auto add = [&](const nlohmann::json& row) {
    template_.execute_into(body, row);
    body += '\n';
  };
  if (rows.is_array()) {
    for (const auto& row : rows) add(row);
  } else {
    add(rows);
  }
  if (kind_ != Kind::Table) return body;

  nlohmann::json titles = nlohmann::json::object();
  for (const auto& name : template_.field_names()) {
    auto it = headers_.find(name);
    std::string title = it != headers_.end() ? it->second : name;
    if (it == headers_.end())
      for (char& c : title) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    titles[name] = std::move(title);
  }
  return align_tabs(template_.execute_header(titles) + "\n" + body);
}

}  // namespace berth
