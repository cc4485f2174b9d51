// The functions a docker --format template can call: Go's text/template
// builtins (funcs.go) and docker's additions (cli/templates/templates.go),
// with their error texts.
#include <algorithm>

#include "common/go_fmt.hpp"
#include "common/go_template_ast.hpp"
#include "common/utf8.hpp"

namespace berth::gotmpl::detail {

bool truth(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return false;
    case json::value_t::boolean: return v.get<bool>();
    case json::value_t::number_integer: return v.get<int64_t>() != 0;
    case json::value_t::number_unsigned: return v.get<uint64_t>() != 0;
    case json::value_t::number_float: return v.get<double>() != 0;
    case json::value_t::string: return !v.get_ref<const std::string&>().empty();  // json::empty() is false for strings
    case json::value_t::array:
    case json::value_t::object: return !v.empty();
    default: return true;
  }
}

namespace {

using Args = std::vector<Value>;

const std::string& str(const Value& v) { return v->get_ref<const std::string&>(); }

// Arguments of Param::Int are JSON integers (or integral floats) by now.
int64_t integer(const json& v) {
  int64_t i = 0;
  gofmt::integral_value(v, i);
  return i;
}

bool is_integral(const json& v) {
  int64_t i = 0;
  return gofmt::integral_value(v, i);
}

std::vector<const json*> pointers(const Args& args, size_t from = 0) {
  std::vector<const json*> p;
  for (size_t i = from; i < args.size(); ++i) p.push_back(&*args[i]);
  return p;
}

// Go's evalArgs for html, js and urlquery: one string as is, else Sprint.
std::string text_of(const Args& args) {
  if (args.size() == 1 && args[0]->is_string()) return str(args[0]);
  return gofmt::sprint(pointers(args));
}

Value fn_not(const Args& a) { return Value::owned(!truth(*a[0])); }

Value fn_len(const Args& a) {
  const json& v = *a[0];
  if (v.is_string()) return Value::owned(v.get_ref<const std::string&>().size());
  if (v.is_array() || v.is_object()) return Value::owned(v.size());
  if (v.is_null()) return Value::owned(0);  // a nil slice or map has length 0
  throw CallError{"len of type " + std::string(gofmt::type_name(v))};
}

// funcs.go's indexArg.
int64_t index_arg(const json& index, size_t cap) {
  if (index.is_null()) throw CallError{"cannot index slice/array with nil"};
  if (!is_integral(index)) throw CallError{"cannot index slice/array with type " + std::string(gofmt::type_name(index))};
  int64_t x = integer(index);
  if (x < 0 || static_cast<uint64_t>(x) > cap) throw CallError{"index out of range: " + std::to_string(x)};
  return x;
}

// What a missing key of a Go map gives: its element type's zero value. A
// JSON object does not say its element type; one whose values are all
// strings (Labels, Options) is taken as a map[string]string, giving "".
Value missing_entry(const json& object) {
  bool strings = std::all_of(object.begin(), object.end(), [](const json& e) { return e.is_string(); });
  return strings ? Value::owned("") : Value();
}

Value fn_index(const Args& a) {
  Value item = a[0];
  for (size_t k = 1; k < a.size(); ++k) {
    const json& v = *item;
    const json& index = *a[k];
    if (v.is_null()) return Value();  // a nil map or slice: Go's zero value
    if (v.is_array() || v.is_string()) {
      size_t size = v.is_array() ? v.size() : v.get_ref<const std::string&>().size();
      auto x = static_cast<size_t>(index_arg(index, size));
      if (x == size) throw CallError{"index out of range: " + std::to_string(x)};
      // A string's element is a byte, which Go prints as a number.
      item = v.is_array() ? item.sub(v[x]) : Value::owned(static_cast<unsigned char>(str(item)[x]));
    } else if (v.is_object()) {
      if (index.is_null()) throw CallError{"value is nil; should be of type string"};
      if (!index.is_string())
        throw CallError{"value has type " + std::string(gofmt::type_name(index)) + "; should be string"};
      auto it = v.find(index.get_ref<const std::string&>());
      item = it != v.end() ? item.sub(*it) : missing_entry(v);
    } else {
      throw CallError{"can't index item of type " + std::string(gofmt::type_name(v))};
    }
  }
  return item;
}

Value fn_slice(const Args& a) {
  const json& v = *a[0];
  size_t count = a.size() - 1;
  if (v.is_null()) throw CallError{"slice of untyped nil"};
  if (count > 3) throw CallError{"too many slice indexes: " + std::to_string(count)};
  size_t len = 0;
  if (v.is_string()) {
    if (count == 3) throw CallError{"cannot 3-index slice a string"};
    len = v.get_ref<const std::string&>().size();
  } else if (v.is_array()) {
    len = v.size();
  } else {
    throw CallError{"can't slice item of type " + std::string(gofmt::type_name(v))};
  }
  int64_t idx[3] = {0, static_cast<int64_t>(len), static_cast<int64_t>(len)};
  for (size_t k = 0; k < count; ++k) idx[k] = index_arg(*a[k + 1], len);
  if (idx[0] > idx[1])
    throw CallError{"invalid slice index: " + std::to_string(idx[0]) + " > " + std::to_string(idx[1])};
  if (count == 3 && idx[1] > idx[2])
    throw CallError{"invalid slice index: " + std::to_string(idx[1]) + " > " + std::to_string(idx[2])};
  auto from = static_cast<size_t>(idx[0]), to = static_cast<size_t>(idx[1]);
  if (v.is_string()) return Value::owned(v.get_ref<const std::string&>().substr(from, to - from));
  return Value::owned(json(v.begin() + static_cast<long>(from), v.begin() + static_cast<long>(to)));
}

// ---- comparisons (funcs.go's eq, lt) ----

enum class Kind { Bool, Number, String, Other };

Kind kind_of(const json& v) {
  if (v.is_boolean()) return Kind::Bool;
  if (v.is_number()) return Kind::Number;
  if (v.is_string()) return Kind::String;
  return Kind::Other;
}

// Numbers compare by value whether JSON made them ints or floats (Go would
// refuse int against float64; JSON does not let the user choose).
int compare_numbers(const json& x, const json& y) {
  if (x.is_number_integer() && y.is_number_integer()) {
    auto wide = [](const json& v) {
      return v.is_number_unsigned() ? static_cast<__int128>(v.get<uint64_t>()) : static_cast<__int128>(v.get<int64_t>());
    };
    __int128 a = wide(x), b = wide(y);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  double a = x.get<double>(), b = y.get<double>();
  return a < b ? -1 : a > b ? 1 : 0;
}

bool equal(const json& x, const json& y) {
  if (x.is_null() || y.is_null()) return x.is_null() && y.is_null();
  Kind kx = kind_of(x), ky = kind_of(y);
  if (kx != ky) throw CallError{"incompatible types for comparison"};
  switch (kx) {
    case Kind::Bool: return x.get<bool>() == y.get<bool>();
    case Kind::Number: return compare_numbers(x, y) == 0;
    case Kind::String: return x.get_ref<const std::string&>() == y.get_ref<const std::string&>();
    case Kind::Other: break;
  }
  throw CallError{"non-comparable type " + gofmt::value(y) + ": " + std::string(gofmt::type_name(y))};
}

bool less(const json& x, const json& y) {
  Kind kx = kind_of(x), ky = kind_of(y);
  if (kx == Kind::Other || ky == Kind::Other || x.is_null() || y.is_null())
    throw CallError{"invalid type for comparison"};
  if (kx != ky) throw CallError{"incompatible types for comparison"};
  switch (kx) {
    case Kind::Number: return compare_numbers(x, y) < 0;
    case Kind::String: return x.get_ref<const std::string&>() < y.get_ref<const std::string&>();
    default: throw CallError{"invalid type for comparison"};
  }
}

Value fn_eq(const Args& a) {
  if (a.size() < 2) throw CallError{"missing argument for comparison"};
  for (size_t k = 1; k < a.size(); ++k)
    if (equal(*a[0], *a[k])) return Value::owned(true);
  return Value::owned(false);
}
Value fn_ne(const Args& a) { return Value::owned(!equal(*a[0], *a[1])); }
Value fn_lt(const Args& a) { return Value::owned(less(*a[0], *a[1])); }
Value fn_le(const Args& a) { return Value::owned(less(*a[0], *a[1]) || equal(*a[0], *a[1])); }
Value fn_gt(const Args& a) { return Value::owned(!(less(*a[0], *a[1]) || equal(*a[0], *a[1]))); }
Value fn_ge(const Args& a) { return Value::owned(!less(*a[0], *a[1])); }

// ---- printing and escaping ----

Value fn_print(const Args& a) { return Value::owned(gofmt::sprint(pointers(a))); }
Value fn_println(const Args& a) { return Value::owned(gofmt::sprintln(pointers(a))); }
Value fn_printf(const Args& a) { return Value::owned(gofmt::sprintf(str(a[0]), pointers(a, 1))); }

Value fn_html(const Args& a) {
  std::string out;
  for (char c : text_of(a)) {
    switch (c) {
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\0': out += "\uFFFD"; break;
      default: out += c;
    }
  }
  return Value::owned(out);
}

Value fn_js(const Args& a) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text_of(a)) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      case '"': out += "\\\""; break;
      case '<': out += "\\u003C"; break;
      case '>': out += "\\u003E"; break;
      case '&': out += "\\u0026"; break;
      case '=': out += "\\u003D"; break;
      default:
        if (u < ' ') {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xF];
        } else {
          out += c;
        }
    }
  }
  return Value::owned(out);
}

Value fn_urlquery(const Args& a) {  // url.QueryEscape
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text_of(a)) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return Value::owned(out);
}

// ---- docker's functions ----

Value fn_json(const Args& a) { return Value::owned(gofmt::marshal(*a[0])); }

Value fn_split(const Args& a) {  // strings.Split
  const std::string& s = str(a[0]);
  const std::string& sep = str(a[1]);
  json parts = json::array();
  if (sep.empty()) {  // one element per UTF-8 sequence
    for (size_t i = 0; i < s.size();) {
      size_t start = i;
      utf8::decode(s, i);
      parts.push_back(s.substr(start, i - start));
    }
    return Value::owned(std::move(parts));
  }
  size_t start = 0;
  for (size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + sep.size())
    parts.push_back(s.substr(start, at - start));
  parts.push_back(s.substr(start));
  return Value::owned(std::move(parts));
}

Value fn_join(const Args& a) {  // strings.Join; non-strings print as %v
  std::string out;
  bool first = true;
  for (const auto& e : *a[0]) {
    if (!first) out += str(a[1]);
    first = false;
    if (e.is_string()) {
      out += e.get_ref<const std::string&>();
    } else {
      gofmt::append_value(out, e);
    }
  }
  return Value::owned(out);
}

// unicode.ToUpper and ToLower for the scripts with one-to-one case pairs:
// ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic. Other runes are
// left as they are.
char32_t to_upper(char32_t r) {
  if (r < 0x80) return r >= 'a' && r <= 'z' ? r - 0x20 : r;
  if (r == 0xB5) return 0x39C;
  if (r >= 0xE0 && r <= 0xFE && r != 0xF7) return r - 0x20;
  if (r == 0xFF) return 0x178;
  if (r == 0x131) return 'I';
  if (r == 0x17F) return 'S';
  // Latin Extended-A: upper/lower pairs start at even code points, except
  // in 0x139-0x148 and 0x179-0x17E where they start at odd ones.
  if (((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177)) && (r & 1)) return r - 1;
  if (((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E)) && !(r & 1)) return r - 1;
  if (r == 0x3AC) return 0x386;
  if (r >= 0x3AD && r <= 0x3AF) return r - 0x25;
  if (r == 0x3C2) return 0x3A3;  // final sigma
  if (r >= 0x3B1 && r <= 0x3CB) return r - 0x20;
  if (r == 0x3CC) return 0x38C;
  if (r >= 0x3CD && r <= 0x3CE) return r - 0x3F;
  if (r >= 0x430 && r <= 0x44F) return r - 0x20;
  if (r >= 0x450 && r <= 0x45F) return r - 0x50;
  return r;
}

char32_t to_lower(char32_t r) {
  if (r < 0x80) return r >= 'A' && r <= 'Z' ? r + 0x20 : r;
  if (r >= 0xC0 && r <= 0xDE && r != 0xD7) return r + 0x20;
  if (r == 0x178) return 0xFF;
  if (r == 0x130) return 'i';
  if (((r >= 0x100 && r <= 0x137) || (r >= 0x14A && r <= 0x177)) && !(r & 1)) return r + 1;
  if (((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E)) && (r & 1)) return r + 1;
  if (r == 0x386) return 0x3AC;
  if (r >= 0x388 && r <= 0x38A) return r + 0x25;
  if (r == 0x38C) return 0x3CC;
  if (r >= 0x38E && r <= 0x38F) return r + 0x3F;
  if (r >= 0x391 && r <= 0x3AB && r != 0x3A2) return r + 0x20;
  if (r >= 0x410 && r <= 0x42F) return r + 0x20;
  if (r >= 0x400 && r <= 0x40F) return r + 0x50;
  return r;
}

// strings.Map: an invalid byte becomes U+FFFD, as Go's does.
template <typename F>
std::string map_runes(std::string_view s, F&& f) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) utf8::append(out, f(utf8::decode(s, i)));
  return out;
}

// strings.Title's isSeparator.
bool is_separator(char32_t r) {
  if (r < 0x80) return !(std::isalnum(static_cast<int>(r)) || r == '_');
  return r == 0x85 || r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 ||
         r == 0x202F || r == 0x205F || r == 0x3000;
}

Value fn_title(const Args& a) {  // strings.Title: upper case after a separator
  char32_t prev = ' ';
  return Value::owned(map_runes(str(a[0]), [&](char32_t r) {
    char32_t out = is_separator(prev) ? to_upper(r) : r;
    prev = r;
    return out;
  }));
}

Value fn_lower(const Args& a) { return Value::owned(map_runes(str(a[0]), to_lower)); }
Value fn_upper(const Args& a) { return Value::owned(map_runes(str(a[0]), to_upper)); }

Value fn_pad(const Args& a) {  // padWithSpace: an empty string stays empty
  const std::string& s = str(a[0]);
  int64_t prefix = integer(*a[1]), suffix = integer(*a[2]);
  if (s.empty()) return a[0];
  if (prefix < 0 || suffix < 0) throw CallError{"strings: negative Repeat count"};
  // Go would try to allocate it; a --format's padding has no use past a
  // screen, and `{{pad .ID 0 2222222222}}` was 22 GB (the fuzzer's find).
  constexpr int64_t kMaxPad = 1 << 20;
  if (prefix > kMaxPad || suffix > kMaxPad)
    throw CallError{"pad: a padding of " + std::to_string(std::max(prefix, suffix)) + " is more than " +
                    std::to_string(kMaxPad)};
  return Value::owned(std::string(static_cast<size_t>(prefix), ' ') + s + std::string(static_cast<size_t>(suffix), ' '));
}

Value fn_truncate(const Args& a) {  // truncateWithLength, never splitting a UTF-8 sequence
  const std::string& s = str(a[0]);
  int64_t length = integer(*a[1]);
  if (static_cast<int64_t>(s.size()) < length) return a[0];
  if (length < 0) throw CallError{"runtime error: slice bounds out of range [:" + std::to_string(length) + "]"};
  return Value::owned(std::string(utf8::prefix(s, static_cast<size_t>(length))));
}

// docker's HeaderFunctions: the header row shows the column names as given.
Value fn_first(const Args& a) { return a[0]; }

constexpr Function kFunctions[] = {
    {"and", "aa*", nullptr},       {"eq", "aa*", fn_eq},
    {"ge", "aa", fn_ge},           {"gt", "aa", fn_gt},
    {"html", "a*", fn_html},       {"index", "aa*", fn_index},
    {"join", "ls", fn_join},       {"js", "a*", fn_js},
    {"json", "a", fn_json},        {"le", "aa", fn_le},
    {"len", "a", fn_len},          {"lower", "s", fn_lower},
    {"lt", "aa", fn_lt},           {"ne", "aa", fn_ne},
    {"not", "a", fn_not},          {"or", "aa*", nullptr},
    {"pad", "sii", fn_pad},        {"print", "a*", fn_print},
    {"printf", "sa*", fn_printf},  {"println", "a*", fn_println},
    {"slice", "aa*", fn_slice},    {"split", "ss", fn_split},
    {"title", "s", fn_title},      {"truncate", "si", fn_truncate},
    {"upper", "s", fn_upper},      {"urlquery", "a*", fn_urlquery},
};

constexpr Function kHeaderFunctions[] = {
    {"join", "ss", fn_first},  {"json", "s", fn_first},     {"lower", "s", fn_first},
    {"split", "ss", fn_first}, {"title", "s", fn_first},    {"truncate", "si", fn_first},
    {"upper", "s", fn_first},
};

template <size_t N>
const Function* lookup(const Function (&table)[N], std::string_view name) {
  auto it = std::find_if(std::begin(table), std::end(table), [&](const Function& f) { return f.name == name; });
  return it == std::end(table) ? nullptr : it;
}

}  // namespace

const Function* find_function(std::string_view name, bool header) {
  if (header) {
    if (const Function* f = lookup(kHeaderFunctions, name)) return f;
  }
  return lookup(kFunctions, name);
}

}  // namespace berth::gotmpl::detail
