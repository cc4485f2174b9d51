// Ports of the parts of Go's fmt (print.go, format.go) and strconv (ftoa,
// quote) that text/template output goes through (encoding/json is in
// go_json.cpp). The structure follows Go's so differences are easy to check.
#include "common/go_fmt.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/utf8.hpp"

namespace berth::gofmt {

using nlohmann::json;

namespace {

constexpr char kLowerHex[] = "0123456789abcdefx";
constexpr char kUpperHex[] = "0123456789ABCDEFX";

// unicode.IsPrint, exact for ASCII and Latin-1; above that, every rune but
// the spaces, format characters and non-characters Go also refuses.
bool is_print(char32_t r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7F;
  if (r < 0xA1) return false;  // C1 controls and NO-BREAK SPACE
  if (r == 0xAD || r == 0x1680 || r == 0x202F || r == 0x205F || r == 0x3000 || r == 0xFEFF) return false;
  if ((r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202E) || (r >= 0x2060 && r <= 0x206F)) return false;
  if ((r >= 0xD800 && r <= 0xDFFF) || (r >= 0xFFF9 && r <= 0xFFFB) || (r & 0xFFFE) == 0xFFFE) return false;
  return r <= 0x10FFFF;
}

void append_hex(std::string& out, uint32_t v, int digits) {
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kLowerHex[(v >> shift) & 0xF];
}

// strconv.appendEscapedRune.
void append_escaped_rune(std::string& out, char32_t r, char quote, bool ascii_only) {
  if (r == static_cast<char32_t>(quote) || r == '\\') {
    out += '\\';
    out += static_cast<char>(r);
    return;
  }
  if (ascii_only ? (r < 0x80 && is_print(r)) : is_print(r)) {
    utf8::append(out, r);
    return;
  }
  switch (r) {
    case '\a': out += "\\a"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    case '\v': out += "\\v"; return;
  }
  if (r < ' ' || r == 0x7F) {
    out += "\\x";
    append_hex(out, r, 2);
  } else if (r < 0x10000) {
    out += "\\u";
    append_hex(out, r, 4);
  } else {
    out += "\\U";
    append_hex(out, r, 8);
  }
}

// strconv.appendQuotedWith.
std::string quote_with(std::string_view s, char quote, bool ascii_only) {
  std::string out(1, quote);
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    char32_t r = utf8::decode(s, i);
    if (r == utf8::kRuneError && i - start == 1) {
      out += "\\x";
      append_hex(out, static_cast<unsigned char>(s[start]), 2);
      continue;
    }
    append_escaped_rune(out, r, quote, ascii_only);
  }
  out += quote;
  return out;
}

// strconv.CanBackquote.
bool can_backquote(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    char32_t r = utf8::decode(s, i);
    if (r == utf8::kRuneError && i - start == 1) return false;
    if (r == '`' || r == 0xFEFF || (r < ' ' && r != '\t') || r == 0x7F) return false;
  }
  return true;
}

// One operand's formatting state: fmt.fmt's flags plus the pp methods that
// use them.
class Printer {
 public:
  explicit Printer(std::string& out) : out_(out) {}

  bool plus = false, minus = false, sharp = false, zero = false, space = false;
  bool sharp_v = false;  // %#v asked for: printed as %v (Go syntax is not supported)
  bool wid_present = false, prec_present = false;
  int wid = 0, prec = 0;

  void clear_flags() {
    plus = minus = sharp = zero = space = sharp_v = wid_present = prec_present = false;
    wid = prec = 0;
  }

  // pp.printArg (depth 0) and pp.printValue (inside arrays and maps).
  void print(const json& v, char32_t verb, int depth = 0) {
    if (v.is_null()) {
      if (depth > 0) {
        out_ += "<nil>";  // a nil interface{} inside a collection
      } else if (verb == 'T' || verb == 'v') {
        pad("<nil>");
      } else {
        bad_verb(v, verb);
      }
      return;
    }
    if (verb == 'T' && depth == 0) {
      fmt_s(type_name(v));
      return;
    }
    switch (v.type()) {
      case json::value_t::boolean:
        if (verb == 't' || verb == 'v') {
          pad(v.get<bool>() ? "true" : "false");
        } else {
          bad_verb(v, verb);
        }
        return;
      case json::value_t::number_integer: {
        int64_t i = v.get<int64_t>();
        fmt_integer(i < 0 ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i), i < 0, v, verb);
        return;
      }
      case json::value_t::number_unsigned:
        fmt_integer(v.get<uint64_t>(), false, v, verb);
        return;
      case json::value_t::number_float:
        fmt_float_verb(v.get<double>(), v, verb);
        return;
      case json::value_t::string:
        fmt_string(v.get_ref<const std::string&>(), v, verb);
        return;
      case json::value_t::array: {
        out_ += '[';
        bool first = true;
        for (const auto& e : v) {
          if (!first) out_ += ' ';
          first = false;
          print(e, verb, depth + 1);
        }
        out_ += ']';
        return;
      }
      case json::value_t::object: {
        out_ += "map[";
        bool first = true;
        for (const auto& [k, e] : v.items()) {
          if (!first) out_ += ' ';
          first = false;
          fmt_string(k, json(k), verb);
          out_ += ':';
          print(e, verb, depth + 1);
        }
        out_ += ']';
        return;
      }
      default:
        bad_verb(v, verb);
    }
  }

  void bad_verb(const json& v, char32_t verb) {
    out_ += "%!";
    utf8::append(out_, verb);
    out_ += '(';
    if (v.is_null()) {
      out_ += "<nil>";
    } else {
      out_ += type_name(v);
      out_ += '=';
      print(v, 'v', 1);
    }
    out_ += ')';
  }

 private:
  void write_padding(int n) {
    if (n > 0) out_.append(static_cast<size_t>(n), zero && !minus ? '0' : ' ');
  }

  // fmt.pad: width counts runes.
  void pad(std::string_view s) {
    if (!wid_present || wid == 0) {
      out_ += s;
      return;
    }
    int n = wid - static_cast<int>(utf8::count(s));
    if (!minus) write_padding(n);
    out_ += s;
    if (minus) write_padding(n);
  }

  // fmt.fmtS: precision is the most runes printed.
  void fmt_s(std::string_view s) {
    if (prec_present) {
      size_t i = 0;
      for (int n = 0; n < prec && i < s.size(); ++n) utf8::decode(s, i);
      s = s.substr(0, i);
    }
    pad(s);
  }

  void fmt_string(const std::string& s, const json& v, char32_t verb) {
    switch (verb) {
      case 'v':
        if (sharp_v) return fmt_q(s);
        return fmt_s(s);
      case 's': return fmt_s(s);
      case 'x': return fmt_sx(s, kLowerHex);
      case 'X': return fmt_sx(s, kUpperHex);
      case 'q': return fmt_q(s);
    }
    bad_verb(v, verb);
  }

  // fmt.fmtQ.
  void fmt_q(std::string_view s) {
    if (prec_present) {
      size_t i = 0;
      for (int n = 0; n < prec && i < s.size(); ++n) utf8::decode(s, i);
      s = s.substr(0, i);
    }
    if (sharp && can_backquote(s)) return pad("`" + std::string(s) + "`");
    pad(quote_with(s, '"', plus));
  }

  // fmt.fmtSbx for strings.
  void fmt_sx(std::string_view s, const char* digits) {
    size_t length = s.size();
    if (prec_present && static_cast<size_t>(prec) < length) length = static_cast<size_t>(prec);
    int width = static_cast<int>(2 * length);
    if (width == 0) {
      if (wid_present) write_padding(wid);
      return;
    }
    if (space) {
      if (sharp) width *= 2;
      width += static_cast<int>(length) - 1;
    } else if (sharp) {
      width += 2;
    }
    if (wid_present && wid > width && !minus) write_padding(wid - width);
    for (size_t i = 0; i < length; ++i) {
      if (sharp && (i == 0 || space)) {
        if (i > 0) out_ += ' ';
        out_ += '0';
        out_ += digits[16];
      } else if (space && i > 0) {
        out_ += ' ';
      }
      auto c = static_cast<unsigned char>(s[i]);
      out_ += digits[c >> 4];
      out_ += digits[c & 0xF];
    }
    if (wid_present && wid > width && minus) write_padding(wid - width);
  }

  void fmt_integer(uint64_t u, bool negative, const json& v, char32_t verb) {
    switch (verb) {
      case 'v':
      case 'd': return fmt_integer_base(u, negative, 10, verb, kLowerHex);
      case 'b': return fmt_integer_base(u, negative, 2, verb, kLowerHex);
      case 'o':
      case 'O': return fmt_integer_base(u, negative, 8, verb, kLowerHex);
      case 'x': return fmt_integer_base(u, negative, 16, verb, kLowerHex);
      case 'X': return fmt_integer_base(u, negative, 16, verb, kUpperHex);
      case 'c': {
        std::string s;
        utf8::append(s, negative || u > 0x10FFFF ? utf8::kRuneError : static_cast<char32_t>(u));
        return pad(s);
      }
      case 'q': {
        char32_t r = negative || u > 0x10FFFF ? utf8::kRuneError : static_cast<char32_t>(u);
        std::string s(1, '\'');
        append_escaped_rune(s, r, '\'', plus);
        s += '\'';
        return pad(s);
      }
      case 'U': return fmt_unicode(negative ? ~uint64_t{0} : u);
    }
    bad_verb(v, verb);
  }

  // fmt.fmtInteger.
  void fmt_integer_base(uint64_t u, bool negative, unsigned base, char32_t verb, const char* digits) {
    int precision = 0;
    if (prec_present) {
      precision = prec;
      if (precision == 0 && u == 0) {  // "%.0d" of 0 prints nothing but padding
        bool old = zero;
        zero = false;
        write_padding(wid);
        zero = old;
        return;
      }
    } else if (zero && !minus && wid_present) {
      precision = wid;
      if (negative || plus || space) --precision;  // leave room for the sign
    }
    std::string num;
    do {
      num.insert(num.begin(), digits[u % base]);
      u /= base;
    } while (u > 0);
    if (static_cast<int>(num.size()) < precision) num.insert(0, static_cast<size_t>(precision) - num.size(), '0');
    if (sharp) {
      if (base == 2) num.insert(0, "0b");
      if (base == 8 && num[0] != '0') num.insert(0, "0");
      if (base == 16) num.insert(0, std::string{'0', digits[16]});
    }
    if (verb == 'O') num.insert(0, "0o");
    if (negative) {
      num.insert(0, "-");
    } else if (plus) {
      num.insert(0, "+");
    } else if (space) {
      num.insert(0, " ");
    }
    bool old = zero;  // zero padding was done above, as precision
    zero = false;
    pad(num);
    zero = old;
  }

  // fmt.fmtUnicode.
  void fmt_unicode(uint64_t u) {
    std::string s = "U+";
    std::string hex;
    for (uint64_t x = u; x > 0 || hex.empty(); x /= 16) hex.insert(hex.begin(), kUpperHex[x % 16]);
    size_t digits = prec_present && prec > 4 ? static_cast<size_t>(prec) : 4;
    if (hex.size() < digits) s.append(digits - hex.size(), '0');
    s += hex;
    if (sharp && u <= 0x10FFFF && is_print(static_cast<char32_t>(u))) {
      s += " '";
      utf8::append(s, static_cast<char32_t>(u));
      s += '\'';
    }
    bool old = zero;
    zero = false;
    pad(s);
    zero = old;
  }

  void fmt_float_verb(double f, const json& v, char32_t verb) {
    switch (verb) {
      case 'v': return fmt_float(f, 'g', -1);
      case 'g':
      case 'G': return fmt_float(f, static_cast<char>(verb), -1);
      case 'e':
      case 'E':
      case 'f': return fmt_float(f, static_cast<char>(verb), 6);
      case 'F': return fmt_float(f, 'f', 6);
    }
    bad_verb(v, verb);
  }

  // fmt.fmtFloat (without the '#' flag's trailing-zero rules).
  void fmt_float(double f, char verb, int precision) {
    if (prec_present) precision = prec;
    std::string num = format_float(f, verb, precision);
    if (num[0] == '-' || num[0] == '+') {
      // the sign is already there
    } else {
      num.insert(0, "+");
    }
    if (space && num[0] == '+' && !plus) num[0] = ' ';
    if (num[1] == 'I' || num[1] == 'N') {  // Inf and NaN are not zero-padded
      bool old = zero;
      zero = false;
      if (num[1] == 'N' && !space && !plus) num.erase(0, 1);
      pad(num);
      zero = old;
      return;
    }
    if (plus || num[0] != '+') {
      if (zero && !minus && wid_present && wid > static_cast<int>(num.size())) {
        out_ += num[0];  // the sign goes before the zeros
        write_padding(wid - static_cast<int>(num.size()));
        out_.append(num, 1);
        return;
      }
      pad(num);
      return;
    }
    pad(std::string_view(num).substr(1));
  }

  std::string& out_;
};

// fmt's parsenum: a decimal number at format[i], at most 1e6.
bool parse_num(std::string_view format, size_t& i, int& num) {
  bool found = false;
  num = 0;
  while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
    if (num > 1000000) {  // absurd: Go gives up on the rest of the format
      i = format.size();
      return false;
    }
    num = num * 10 + (format[i] - '0');
    found = true;
    ++i;
  }
  return found;
}

// fmt's intFromArg: an int operand for '*'.
bool int_from_arg(Args args, size_t& arg_num, int& num) {
  if (arg_num >= args.size()) return false;
  const json& a = *args[arg_num++];
  if (!a.is_number_integer()) return false;
  auto v = a.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(a.get<uint64_t>(), 2000000))
                                  : a.get<int64_t>();
  if (v > 1000000 || v < -1000000) return false;
  num = static_cast<int>(v);
  return true;
}

}  // namespace

std::string format_float(double v, char fmt, int prec) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  bool upper = fmt == 'E' || fmt == 'G';
  char lower = upper ? static_cast<char>(fmt + ('a' - 'A')) : fmt;
  char buf[512];
  char* end = buf + sizeof buf;
  std::to_chars_result r{};
  if (lower == 'e') {
    r = prec < 0 ? std::to_chars(buf, end, v, std::chars_format::scientific)
                 : std::to_chars(buf, end, v, std::chars_format::scientific, prec);
  } else if (lower == 'f') {
    r = prec < 0 ? std::to_chars(buf, end, v, std::chars_format::fixed)
                 : std::to_chars(buf, end, v, std::chars_format::fixed, prec);
  } else if (prec >= 0) {
    // printf's %.Pg and strconv's 'g' agree: exponent form when the
    // exponent is < -4 or >= P, trailing zeros dropped.
    r = std::to_chars(buf, end, v, std::chars_format::general, prec == 0 ? 1 : prec);
  } else {
    // Shortest digits; strconv then picks the exponent form when the
    // exponent is < -4 or >= 6 (printf's %g would use 17 here, to_chars'
    // general form whichever is shorter: neither is Go's rule).
    r = std::to_chars(buf, end, v, std::chars_format::scientific);
    const char* e = std::find(buf, r.ptr, 'e');  // "d.ddde+XX": buf is not NUL-terminated
    int exp = 0;
    std::from_chars(e + 2, r.ptr, exp);
    if (e[1] == '-') exp = -exp;
    if (exp >= -4 && exp < 6) r = std::to_chars(buf, end, v, std::chars_format::fixed);
  }
  std::string s(buf, r.ptr);
  if (upper) {
    for (char& c : s)
      if (c == 'e') c = 'E';
  }
  return s;
}

std::string_view type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "<nil>";
    case json::value_t::boolean: return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "int";
    case json::value_t::number_float: return "float64";
    case json::value_t::string: return "string";
    case json::value_t::array: return "[]interface {}";
    case json::value_t::object: return "map[string]interface {}";
    default: return "[]uint8";
  }
}

bool integral_value(const json& v, int64_t& out) {
  if (v.is_number_unsigned()) {
    out = static_cast<int64_t>(std::min<uint64_t>(v.get<uint64_t>(), INT64_MAX));
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  // [-2^63, 2^63): both bounds exact as doubles; NaN fails both.
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != std::trunc(d)) return false;
  out = static_cast<int64_t>(d);
  return true;
}

void append_value(std::string& out, const json& v) { Printer(out).print(v, 'v'); }

std::string value(const json& v) {
  std::string out;
  append_value(out, v);
  return out;
}

std::string sprint(Args args) {
  std::string out;
  bool prev_string = false;
  for (size_t i = 0; i < args.size(); ++i) {
    bool is_string = args[i]->is_string();
    if (i > 0 && !is_string && !prev_string) out += ' ';
    append_value(out, *args[i]);
    prev_string = is_string;
  }
  return out;
}

std::string sprintln(Args args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out += ' ';
    append_value(out, *args[i]);
  }
  out += '\n';
  return out;
}

namespace {

// fmt's doPrintf.
class Sprintf {
 public:
  Sprintf(std::string_view format, Args args) : f_(format), args_(args), p_(out_) {}

  std::string run() {
    while (i_ < f_.size()) {
      size_t next = f_.find('%', i_);
      out_.append(f_.substr(i_, next == std::string_view::npos ? std::string_view::npos : next - i_));
      if (next == std::string_view::npos) break;
      i_ = next + 1;
      if (!directive()) break;
    }
    // Operands used out of order may be all used: Go does not check then.
    if (!reordered_ && arg_ < args_.size()) extra();
    return std::move(out_);
  }

 private:
  // One %-directive after the '%'; false when the format ends inside it.
  bool directive() {
    p_.clear_flags();
    good_arg_ = true;
    flags();
    bool after_index = arg_number();
    if (at('*')) {
      ++i_;
      p_.wid_present = int_from_arg(args_, arg_, p_.wid);
      if (!p_.wid_present) out_ += "%!(BADWIDTH)";
      if (p_.wid < 0) {  // a negative width means '-'
        p_.wid = -p_.wid;
        p_.minus = true;
        p_.zero = false;
      }
      after_index = false;
    } else {
      p_.wid_present = parse_num(f_, i_, p_.wid);
      if (after_index && p_.wid_present) good_arg_ = false;  // "%[3]2d"
    }
    if (i_ + 1 < f_.size() && f_[i_] == '.') {
      ++i_;
      if (after_index) good_arg_ = false;  // "%[3].2d"
      after_index = arg_number();
      if (at('*')) {
        ++i_;
        p_.prec_present = int_from_arg(args_, arg_, p_.prec);
        if (p_.prec < 0) {
          p_.prec = 0;
          p_.prec_present = false;
        }
        if (!p_.prec_present) out_ += "%!(BADPREC)";
        after_index = false;
      } else {
        p_.prec_present = true;  // "%.f" is precision 0
        parse_num(f_, i_, p_.prec);
      }
    }
    if (!after_index) arg_number();
    if (i_ >= f_.size()) {
      out_ += "%!(NOVERB)";
      return false;
    }
    char32_t verb = utf8::decode(f_, i_);
    if (verb == '%') {
      out_ += '%';  // takes no operand, ignores width and precision
    } else if (!good_arg_ || arg_ >= args_.size()) {
      out_ += "%!";
      utf8::append(out_, verb);
      out_ += good_arg_ ? "(MISSING)" : "(BADINDEX)";
    } else {
      if (verb == 'v') {
        p_.sharp_v = p_.sharp;  // '#' and '+' mean Go syntax and field names for %v
        p_.sharp = false;
        p_.plus = false;
      }
      p_.print(*args_[arg_++], verb);
    }
    return true;
  }

  bool at(char c) const { return i_ < f_.size() && f_[i_] == c; }

  void flags() {
    for (; i_ < f_.size(); ++i_) {
      switch (f_[i_]) {
        case '#': p_.sharp = true; break;
        case '0': p_.zero = !p_.minus; break;  // zero padding only on the left
        case '+': p_.plus = true; break;
        case '-': p_.minus = true; p_.zero = false; break;
        case ' ': p_.space = true; break;
        default: return;
      }
    }
  }

  // An explicit operand index "[n]" (1-based), as fmt's argNumber.
  bool arg_number() {
    if (!at('[')) return false;
    reordered_ = true;
    size_t close = f_.find(']', i_);
    if (f_.size() - i_ < 3 || close == std::string_view::npos) {
      ++i_;
      good_arg_ = false;
      return false;
    }
    size_t digits = i_ + 1;
    int n = 0;
    bool ok = parse_num(f_, digits, n) && digits == close;
    i_ = close + 1;
    if (ok && n >= 1 && static_cast<size_t>(n) <= args_.size()) {
      arg_ = static_cast<size_t>(n - 1);
      return true;
    }
    good_arg_ = false;
    return ok;
  }

  void extra() {
    p_.clear_flags();
    out_ += "%!(EXTRA ";
    for (size_t k = arg_; k < args_.size(); ++k) {
      if (k > arg_) out_ += ", ";
      if (args_[k]->is_null()) {
        out_ += "<nil>";
        continue;
      }
      out_ += type_name(*args_[k]);
      out_ += '=';
      p_.print(*args_[k], 'v');
    }
    out_ += ')';
  }

  std::string_view f_;
  Args args_;
  std::string out_;
  Printer p_;
  size_t i_ = 0;
  size_t arg_ = 0;
  bool reordered_ = false;
  bool good_arg_ = true;
};

}  // namespace

std::string sprintf(std::string_view format, Args args) { return Sprintf(format, args).run(); }

std::string quote(std::string_view s) { return quote_with(s, '"', false); }

}  // namespace berth::gofmt
