#include "cli/commands/output.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::cli {

using nlohmann::json;

namespace {

// Interim: {{.Field}}, {{.A.B}}, {{json .X}} and "\t" only, until the Go
// template library lands.
std::string render(const std::string& tmpl, const json& row) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t open = tmpl.find("{{", i);
    if (open == std::string::npos) {
      out += tmpl.substr(i);
      break;
    }
    out += tmpl.substr(i, open - i);
    size_t close = tmpl.find("}}", open);
    if (close == std::string::npos) throw Error("template parsing error: unclosed action", ErrorKind::InvalidArgument);
    std::string expr = tmpl.substr(open + 2, close - open - 2);
    while (!expr.empty() && expr.front() == ' ') expr.erase(0, 1);
    while (!expr.empty() && expr.back() == ' ') expr.pop_back();
    bool as_json = expr.rfind("json ", 0) == 0;
    if (as_json) expr = expr.substr(5);
    const json* v = &row;
    if (expr != ".") {
      size_t p = 1;
      while (p < expr.size()) {
        size_t dot = expr.find('.', p);
        std::string key = expr.substr(p, dot == std::string::npos ? std::string::npos : dot - p);
        if (!v->is_object() || !v->contains(key))
          throw Error("template: :1: executing \"\" at <" + expr + ">: can't evaluate field " + key,
                      ErrorKind::InvalidArgument);
        v = &(*v)[key];
        p = dot == std::string::npos ? expr.size() : dot + 1;
      }
    }
    if (as_json) out += v->dump();
    else if (v->is_string()) out += v->get<std::string>();
    else if (v->is_null()) out += "<no value>";
    else out += v->dump();
    i = close + 2;
  }
  std::string tabs;  // a literal "\t" in a template is a cell separator
  for (size_t k = 0; k < out.size(); ++k) {
    if (out[k] == '\\' && k + 1 < out.size() && out[k + 1] == 't') {
      tabs += '\t';
      ++k;
    } else {
      tabs += out[k];
    }
  }
  return tabs;
}

std::string align(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  std::string out;
  for (auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::vector<std::string> cells(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0, tab;
  while ((tab = s.find('\t', start)) != std::string::npos) {
    out.push_back(s.substr(start, tab - start));
    start = tab + 1;
  }
  out.push_back(s.substr(start));
  return out;
}

}  // namespace

std::string format_rows(const std::string& format, const std::vector<json>& rows, const TableSpec& spec) {
  std::string f = format.empty() || format == "table" ? spec.default_template : format;
  if (f == "json") {
    std::string out;
    for (auto& r : rows) out += r.dump() + "\n";
    return out;
  }
  if (f.rfind("table", 0) == 0) {
    std::string tmpl = f.substr(5);
    while (!tmpl.empty() && tmpl.front() == ' ') tmpl.erase(0, 1);
    json header = json::object();
    for (auto& [k, v] : spec.headers) header[k] = v;
    std::vector<std::vector<std::string>> table;
    // header: each {{.Field}} replaced by its header name
    json hrow = json::object();
    for (auto& [k, v] : spec.headers) hrow[k] = v;
    try {
      table.push_back(cells(render(tmpl, hrow)));
    } catch (const Error&) {
      table.push_back(cells(tmpl));
    }
    for (auto& r : rows) table.push_back(cells(render(tmpl, r)));
    return align(table);
  }
  std::string out;
  for (auto& r : rows) out += render(f, r) + "\n";
  return out;
}

std::string format_objects(const std::string& format, const std::vector<json>& objects) {
  if (format.empty()) {
    json arr = json::array();
    for (auto& o : objects) arr.push_back(o);
    return arr.dump(4) + "\n";
  }
  std::string out;
  for (auto& o : objects) out += render(format, o) + "\n";
  return out;
}

}  // namespace berth::cli
