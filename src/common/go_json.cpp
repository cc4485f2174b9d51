// encoding/json's Marshal for docker's {{json}} (go_fmt.hpp): the bytes
// Go writes, which differ from nlohmann's dump() in floats (1 not 1.0,
// 1e+21, 1e-7) and in escaping U+2028/U+2029 and invalid UTF-8.
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/go_fmt.hpp"
#include "common/utf8.hpp"

namespace berth::gofmt {

using nlohmann::json;

namespace {

void append_json(std::string& out, const json& v);

// encoding/json's appendString with escapeHTML false.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      switch (b) {
        case '\\':
        case '"': out += '\\'; out += static_cast<char>(b); break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (b < 0x20) {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\u00";
            out += kHex[b >> 4];
            out += kHex[b & 0xF];
          } else {
            out += static_cast<char>(b);
          }
      }
      continue;
    }
    size_t start = i;
    char32_t r = utf8::decode(s, i);
    if (r == utf8::kRuneError && i - start == 1) {
      out += "\\ufffd";
    } else if (r == 0x2028 || r == 0x2029) {
      out += r == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s, start, i - start);
    }
  }
  out += '"';
}

// encoding/json's floatEncoder: ES6 number formatting.
void append_json_float(std::string& out, double f) {
  if (!std::isfinite(f)) {
    out += "null";  // Go refuses these; JSON has no spelling for them
    return;
  }
  double abs = std::fabs(f);
  char fmt = abs != 0 && (abs < 1e-6 || abs >= 1e21) ? 'e' : 'f';
  std::string s = format_float(f, fmt, -1);
  size_t n = s.size();
  if (fmt == 'e' && n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
  out += s;
}

void append_json(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::null: out += "null"; return;
    case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return;
    case json::value_t::number_integer: out += std::to_string(v.get<int64_t>()); return;
    case json::value_t::number_unsigned: out += std::to_string(v.get<uint64_t>()); return;
    case json::value_t::number_float: append_json_float(out, v.get<double>()); return;
    case json::value_t::string: append_json_string(out, v.get_ref<const std::string&>()); return;
    case json::value_t::array: {
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ',';
        append_json(out, v[i]);
      }
      out += ']';
      return;
    }
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, k);
        out += ':';
        append_json(out, e);
      }
      out += '}';
      return;
    }
    default:
      out += v.dump();  // binary: not produced by parsing JSON text
  }
}

}  // namespace

std::string marshal(const nlohmann::json& v) {
  std::string out;
  append_json(out, v);
  return out;
}

}  // namespace berth::gofmt
