// The lexer of Go's text/template (text/template/parse/lex.go), as a loop
// over the same states; error texts are Go's.
#include <algorithm>
#include <map>

#include "common/go_fmt.hpp"
#include "common/go_template_ast.hpp"
#include "common/utf8.hpp"

namespace berth::gotmpl::detail {
namespace {

constexpr std::string_view kLeftDelim = "{{";
constexpr std::string_view kRightDelim = "}}";
constexpr std::string_view kLeftComment = "/*";
constexpr std::string_view kRightComment = "*/";
constexpr size_t kTrimMarkerLen = 2;  // "- " or " -"

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Go's unicode.IsLetter/IsDigit on the ASCII range; every non-ASCII byte
// counts as a letter (identifiers are ASCII in practice).
bool is_alnum(char c) {
  auto u = static_cast<unsigned char>(c);
  return c == '_' || std::isalnum(u) || u >= 0x80;
}

std::string describe_rune(char32_t r) {  // Go's %#U
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s = "U+";
  std::string hex;
  for (char32_t x = r; x > 0 || hex.size() < 4; x /= 16) hex.insert(hex.begin(), kHex[x % 16]);
  s += hex;
  if (r >= 0x20 && r != 0x7F && !(r >= 0x80 && r < 0xA0)) {
    s += " '";
    utf8::append(s, r);
    s += '\'';
  }
  return s;
}

const std::map<std::string_view, Tok>& keywords() {
  static const std::map<std::string_view, Tok> k = {
      {".", Tok::Dot},         {"block", Tok::Block},   {"break", Tok::Break},
      {"continue", Tok::Continue}, {"define", Tok::Define}, {"else", Tok::Else},
      {"end", Tok::End},       {"if", Tok::If},         {"range", Tok::Range},
      {"nil", Tok::Nil},       {"template", Tok::Template}, {"with", Tok::With},
  };
  return k;
}

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}

  std::vector<Token> run() {
    State state = State::Text;
    while (state != State::Done) state = step(state);
    return std::move(items_);
  }

 private:
  enum class State { Text, InsideAction, Done };

  static constexpr char kEof = '\0';  // peek() past the end; a NUL byte is "unrecognized" anyway

  char peek(size_t ahead = 0) const { return pos_ + ahead < in_.size() ? in_[pos_ + ahead] : kEof; }
  bool at_end() const { return pos_ >= in_.size(); }
  std::string_view rest() const { return in_.substr(std::min(pos_, in_.size())); }

  int line_at(size_t pos) const {
    return 1 + static_cast<int>(std::count(in_.begin(), in_.begin() + static_cast<long>(pos), '\n'));
  }

  void emit(Tok type) {
    items_.push_back({type, std::string(in_.substr(start_, pos_ - start_)), start_, line_at(start_)});
    start_ = pos_;
  }
  void ignore() { start_ = pos_; }
  State error(std::string message) {
    items_.push_back({Tok::Error, std::move(message), start_, line_at(start_)});
    return State::Done;
  }

  bool accept(std::string_view valid) {
    if (!at_end() && valid.find(in_[pos_]) != std::string_view::npos) {
      ++pos_;
      return true;
    }
    return false;
  }
  void accept_run(std::string_view valid) {
    while (accept(valid)) {
    }
  }

  static bool has_left_trim_marker(std::string_view s) { return s.size() >= 2 && s[0] == '-' && is_space(s[1]); }
  static bool has_right_trim_marker(std::string_view s) { return s.size() >= 2 && is_space(s[0]) && s[1] == '-'; }

  // At "}}" (delim) or " -}}" (delim and trim).
  std::pair<bool, bool> at_right_delim() const {
    std::string_view r = rest();
    if (has_right_trim_marker(r) && r.substr(kTrimMarkerLen).starts_with(kRightDelim)) return {true, true};
    return {r.starts_with(kRightDelim), false};
  }

  bool at_terminator() const {
    char c = peek();
    if (is_space(c)) return true;
    switch (c) {
      case '.': case ',': case '|': case ':': case ')': case '(': return true;
    }
    return at_end() || rest().starts_with(kRightDelim);
  }

  State step(State state) {
    return state == State::Text ? lex_text() : lex_inside_action();
  }

  State lex_text() {
    size_t x = rest().find(kLeftDelim);
    if (x == std::string_view::npos) {
      pos_ = in_.size();
      if (pos_ > start_) emit(Tok::Text);
      emit(Tok::Eof);
      return State::Done;
    }
    pos_ += x;
    std::string_view text = in_.substr(start_, pos_ - start_);
    if (has_left_trim_marker(in_.substr(pos_ + kLeftDelim.size()))) {
      size_t keep = text.find_last_not_of(" \t\r\n");
      text = keep == std::string_view::npos ? std::string_view() : text.substr(0, keep + 1);
    }
    if (!text.empty()) items_.push_back({Tok::Text, std::string(text), start_, line_at(start_)});
    start_ = pos_;
    return lex_left_delim();
  }

  State lex_left_delim() {
    pos_ += kLeftDelim.size();
    bool trim = has_left_trim_marker(rest());
    size_t after_marker = trim ? kTrimMarkerLen : 0;
    if (rest().substr(after_marker).starts_with(kLeftComment)) {
      pos_ += after_marker;
      ignore();
      return lex_comment();
    }
    emit(Tok::LeftDelim);
    pos_ += after_marker;
    ignore();
    paren_depth_ = 0;
    return State::InsideAction;
  }

  State lex_comment() {
    pos_ += kLeftComment.size();
    size_t x = rest().find(kRightComment);
    if (x == std::string_view::npos) return error("unclosed comment");
    pos_ += x + kRightComment.size();
    auto [delim, trim] = at_right_delim();
    if (!delim) return error("comment ends before closing delimiter");
    if (trim) pos_ += kTrimMarkerLen;
    pos_ += kRightDelim.size();
    if (trim) skip_leading_space();
    ignore();
    return State::Text;
  }

  void skip_leading_space() {
    while (!at_end() && is_space(in_[pos_])) ++pos_;
  }

  State lex_right_delim() {
    auto [delim, trim] = at_right_delim();
    (void)delim;
    if (trim) {
      pos_ += kTrimMarkerLen;
      ignore();
    }
    pos_ += kRightDelim.size();
    emit(Tok::RightDelim);
    if (trim) {
      skip_leading_space();
      ignore();
    }
    return State::Text;
  }

  State lex_inside_action() {
    auto [delim, trim] = at_right_delim();
    (void)trim;
    if (delim) {
      if (paren_depth_ == 0) return lex_right_delim();
      return error("unclosed left paren");
    }
    if (at_end()) return error("unclosed action");
    size_t rune_start = pos_;
    char32_t r = utf8::decode(in_, pos_);
    if (r < 0x80 && is_space(static_cast<char>(r))) {
      pos_ = rune_start;
      return lex_space();
    }
    switch (r) {
      case '=': emit(Tok::Assign); return State::InsideAction;
      case ':':
        if (peek() != '=') return error("expected :=");
        ++pos_;
        emit(Tok::Declare);
        return State::InsideAction;
      case '|': emit(Tok::Pipe); return State::InsideAction;
      case '"': return lex_quoted('"', Tok::String, "quoted string");
      case '`': return lex_raw_quote();
      case '$': return lex_field_or_variable(Tok::Variable);
      case '\'': return lex_quoted('\'', Tok::CharConstant, "character constant");
      case '.':
        if (!at_end() && (peek() < '0' || peek() > '9')) return lex_field_or_variable(Tok::Field);
        pos_ = rune_start;  // ".5" is a number
        return lex_number();
      case '(':
        emit(Tok::LeftParen);
        ++paren_depth_;
        return State::InsideAction;
      case ')':
        if (--paren_depth_ < 0) return error("unexpected right paren");
        emit(Tok::RightParen);
        return State::InsideAction;
    }
    if (r == '+' || r == '-' || (r >= '0' && r <= '9')) {
      pos_ = rune_start;
      return lex_number();
    }
    if (r == '_' || r >= 0x80 || std::isalnum(static_cast<int>(r))) {
      pos_ = rune_start;
      return lex_identifier();
    }
    if (r < 0x7F && r >= 0x20) {
      emit(Tok::Char);
      return State::InsideAction;
    }
    return error("unrecognized character in action: " + describe_rune(r));
  }

  State lex_space() {
    size_t spaces = 0;
    while (is_space(peek()) && !at_end()) {
      ++pos_;
      ++spaces;
    }
    // " -}}" is a trim-marked closing delimiter, not a space and a minus.
    if (has_right_trim_marker(in_.substr(pos_ - 1)) &&
        in_.substr(pos_ - 1 + kTrimMarkerLen).starts_with(kRightDelim)) {
      --pos_;  // back before the space
      if (spaces == 1) return lex_right_delim();
    }
    emit(Tok::Space);
    return State::InsideAction;
  }

  State lex_identifier() {
    while (!at_end() && is_alnum(peek())) ++pos_;
    std::string_view word = in_.substr(start_, pos_ - start_);
    if (!at_terminator()) return bad_character();
    auto k = keywords().find(word);
    if (k != keywords().end()) {
      emit(k->second);
    } else if (word == "true" || word == "false") {
      emit(Tok::Bool);
    } else {
      emit(Tok::Identifier);
    }
    return State::InsideAction;
  }

  State bad_character() {
    size_t i = pos_;
    return error("bad character " + describe_rune(utf8::decode(in_, i)));
  }

  // After '.' or '$'.
  State lex_field_or_variable(Tok type) {
    if (at_terminator()) {  // "." or "$" alone
      emit(type == Tok::Variable ? Tok::Variable : Tok::Dot);
      return State::InsideAction;
    }
    while (!at_end() && is_alnum(peek())) ++pos_;
    if (!at_terminator()) return bad_character();
    emit(type);
    return State::InsideAction;
  }

  // Go's scanNumber: the longest run that may be a number, checked later.
  bool scan_number() {
    accept("+-");
    std::string_view digits = "0123456789_";
    if (accept("0")) {
      if (accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (accept("oO")) {
        digits = "01234567_";
      } else if (accept("bB")) {
        digits = "01_";
      }
    }
    accept_run(digits);
    if (accept(".")) accept_run(digits);
    if (digits.size() == 11 && accept("eE")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (digits.size() == 23 && accept("pP")) {
      accept("+-");
      accept_run("0123456789_");
    }
    accept("i");
    if (!at_end() && is_alnum(peek())) {
      utf8::decode(in_, pos_);  // the error quotes the whole character
      return false;
    }
    return true;
  }

  State lex_number() {
    if (!scan_number()) return error("bad number syntax: " + gofmt::quote(in_.substr(start_, pos_ - start_)));
    if (peek() == '+' || peek() == '-') {  // complex: 1+2i
      if (!scan_number() || in_[pos_ - 1] != 'i')
        return error("bad number syntax: " + gofmt::quote(in_.substr(start_, pos_ - start_)));
      emit(Tok::Complex);
    } else {
      emit(Tok::Number);
    }
    return State::InsideAction;
  }

  // A "..." string or a '...' character constant, after its opening quote;
  // a backslash escapes the next character, a newline ends it badly.
  State lex_quoted(char quote, Tok type, const std::string& what) {
    for (;;) {
      if (at_end()) return error("unterminated " + what);
      char c = in_[pos_++];
      if (c == '\\') {
        if (at_end() || peek() == '\n') return error("unterminated " + what);
        ++pos_;
      } else if (c == '\n') {
        return error("unterminated " + what);
      } else if (c == quote) {
        break;
      }
    }
    emit(type);
    return State::InsideAction;
  }

  State lex_raw_quote() {
    size_t x = rest().find('`');
    if (x == std::string_view::npos) return error("unterminated raw quoted string");
    pos_ += x + 1;
    emit(Tok::RawString);
    return State::InsideAction;
  }

  std::string_view in_;
  size_t pos_ = 0;
  size_t start_ = 0;
  int paren_depth_ = 0;
  std::vector<Token> items_;
};

}  // namespace

std::vector<Token> lex(std::string_view input) { return Lexer(input).run(); }

}  // namespace berth::gotmpl::detail
