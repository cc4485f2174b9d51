// The parser of Go's text/template (text/template/parse/parse.go): the same
// recursive descent over the lexer's tokens, the same checks at parse time
// (unknown functions, undefined variables, {{break}} outside {{range}}) and
// Go's error texts, with docker's "template parsing error: " in front.
#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "common/error.hpp"
#include "common/go_fmt.hpp"
#include "common/go_template_ast.hpp"
#include "common/utf8.hpp"

namespace berth::gotmpl::detail {

// ---- node texts (node.go's String methods), used in execution errors ----

Operand::~Operand() = default;

std::string Operand::str() const {
  std::string s;
  switch (kind) {
    case Kind::Field:
      for (const auto& f : fields) s += "." + f;
      return s;
    case Kind::Variable:
      s = name;
      for (const auto& f : fields) s += "." + f;
      return s;
    case Kind::Dot: return ".";
    case Kind::Ident:
    case Kind::String: return name;
    case Kind::Number: return number.text;
    case Kind::Bool: return boolean ? "true" : "false";
    case Kind::Nil: return "nil";
    case Kind::Pipe: return pipe->str();  // a command or chain puts it in parentheses
    case Kind::Chain:
      s = base->kind == Kind::Pipe ? "(" + base->str() + ")" : base->str();
      for (const auto& f : fields) s += "." + f;
      return s;
  }
  return s;
}

std::string Command::str() const {
  std::string s;
  for (const auto& a : args) {
    if (!s.empty()) s += ' ';
    s += a->kind == Operand::Kind::Pipe ? "(" + a->str() + ")" : a->str();
  }
  return s;
}

std::string Pipe::str() const {
  std::string s;
  for (size_t i = 0; i < decl.size(); ++i) s += (i > 0 ? ", " : "") + decl[i];
  if (!decl.empty()) s += is_assign ? " = " : " := ";
  for (size_t i = 0; i < cmds.size(); ++i) s += (i > 0 ? " | " : "") + cmds[i].str();
  return s;
}

namespace {

std::string list_str(const List& list) {
  std::string s;
  for (const auto& n : list) s += n.str();
  return s;
}

}  // namespace

std::string Node::str() const {
  auto control = [&](std::string_view word) {
    std::string s = "{{" + std::string(word) + " " + pipe->str() + "}}" + list_str(list);
    if (has_else) s += "{{else}}" + list_str(else_list);
    return s + "{{end}}";
  };
  switch (kind) {
    case Kind::Text: return text;
    case Kind::Action: return "{{" + pipe->str() + "}}";
    case Kind::If: return control("if");
    case Kind::Range: return control("range");
    case Kind::With: return control("with");
    case Kind::Break: return "{{break}}";
    case Kind::Continue: return "{{continue}}";
    case Kind::End: return "{{end}}";
    case Kind::Else: return "{{else}}";
  }
  return {};
}

namespace {

// strconv.UnquoteChar: the rune (or, for \x and octal escapes, the byte)
// at s[i], advancing i; false on a syntax error.
bool unquote_char(std::string_view s, size_t& i, char quote, std::string& out) {
  if (i >= s.size()) return false;
  char c = s[i];
  if (c == quote && (quote == '\'' || quote == '"')) return false;
  if (static_cast<unsigned char>(c) >= 0x80) {
    size_t start = i;
    utf8::decode(s, i);
    out.append(s, start, i - start);
    return true;
  }
  ++i;
  if (c != '\\') {
    out += c;
    return true;
  }
  if (i >= s.size()) return false;
  c = s[i++];
  auto hex = [&](size_t n, uint32_t& v) {
    if (i + n > s.size()) return false;
    v = 0;
    for (size_t k = 0; k < n; ++k) {
      char h = s[i + k];
      int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<uint32_t>(d);
    }
    i += n;
    return true;
  };
  uint32_t v = 0;
  switch (c) {
    case 'a': out += '\a'; return true;
    case 'b': out += '\b'; return true;
    case 'f': out += '\f'; return true;
    case 'n': out += '\n'; return true;
    case 'r': out += '\r'; return true;
    case 't': out += '\t'; return true;
    case 'v': out += '\v'; return true;
    case '\\': out += '\\'; return true;
    case 'x':
      if (!hex(2, v)) return false;
      out += static_cast<char>(v);  // a byte, not a rune
      return true;
    case 'u':
    case 'U':
      if (!hex(c == 'u' ? 4 : 8, v) || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
      utf8::append(out, v);
      return true;
    case '\'':
    case '"':
      if (c != quote) return false;
      out += c;
      return true;
  }
  if (c >= '0' && c <= '7') {
    v = static_cast<uint32_t>(c - '0');
    for (int k = 0; k < 2; ++k) {
      if (i >= s.size() || s[i] < '0' || s[i] > '7') return false;
      v = v * 8 + static_cast<uint32_t>(s[i++] - '0');
    }
    if (v > 255) return false;
    out += static_cast<char>(v);
    return true;
  }
  return false;
}

// strconv.Unquote for "..." and `...` literals.
bool unquote(std::string_view quoted, std::string& out) {
  if (quoted.size() < 2 || quoted.front() != quoted.back()) return false;
  std::string_view body = quoted.substr(1, quoted.size() - 2);
  if (quoted.front() == '`') {
    if (body.find('`') != std::string_view::npos) return false;
    for (char c : body)
      if (c != '\r') out += c;  // Go drops carriage returns from raw strings
    return true;
  }
  for (size_t i = 0; i < body.size();)
    if (!unquote_char(body, i, '"', out)) return false;
  return true;
}

// strconv.ParseUint/ParseInt with base 0: sign, 0x/0o/0b/0 prefixes, '_'.
bool parse_go_integer(std::string_view s, bool& negative, uint64_t& magnitude) {
  negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  unsigned base = 10;
  if (s.size() > 1 && s[0] == '0') {
    char p = static_cast<char>(s[1] | 0x20);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 8;
    s.remove_prefix(p == 'x' || p == 'o' || p == 'b' ? 2 : 1);
  }
  magnitude = 0;
  bool any = false;
  for (char c : s) {
    if (c == '_') continue;
    unsigned d = c >= '0' && c <= '9' ? static_cast<unsigned>(c - '0')
                 : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? static_cast<unsigned>((c | 0x20) - 'a' + 10)
                                                           : 99;
    if (d >= base) return false;
    if (magnitude > (UINT64_MAX - d) / base) return false;  // overflow
    magnitude = magnitude * base + d;
    any = true;
  }
  return any;
}

bool is_keyword(Tok t) { return t > Tok::Keyword; }

class Parser {
 public:
  explicit Parser(std::string_view text) : toks_(lex(text)) {}

  List parse() {
    List root;
    while (peek().type != Tok::Eof) {
      Node n = text_or_action();
      if (n.kind == Node::Kind::End || n.kind == Node::Kind::Else) errorf("unexpected " + n.str());
      root.push_back(std::move(n));
    }
    return root;
  }

 private:
  // ---- token access: Go's next/backup/peek with unlimited look-back ----
  const Token& next() {
    size_t i = std::min(idx_, toks_.size() - 1);
    furthest_ = std::max(furthest_, i);
    if (idx_ < toks_.size()) ++idx_;
    return toks_[i];
  }
  void backup() { --idx_; }
  const Token& peek() {
    const Token& t = next();
    backup();
    return t;
  }
  const Token& next_non_space() {
    for (;;) {
      const Token& t = next();
      if (t.type != Tok::Space) return t;
    }
  }
  const Token& peek_non_space() {
    const Token& t = next_non_space();
    backup();
    return t;
  }

  // Go reports the line of the last token read.
  [[noreturn]] void errorf(const std::string& message) {
    throw Error(std::string(kErrorPrefix) + "template: :" + std::to_string(toks_[furthest_].line) + ": " + message,
                ErrorKind::InvalidArgument);
  }

  static std::string item_string(const Token& t) {
    if (t.type == Tok::Eof) return "EOF";
    if (t.type == Tok::Error) return t.val;
    if (is_keyword(t.type)) return "<" + t.val + ">";
    if (t.val.size() > 10) {  // Go's %.10q...: over 10 bytes, cut at 10 runes
      size_t i = 0;
      for (int n = 0; n < 10; ++n) utf8::decode(t.val, i);
      return gofmt::quote(std::string_view(t.val).substr(0, i)) + "...";
    }
    return gofmt::quote(t.val);
  }

  [[noreturn]] void unexpected(const Token& t, const std::string& context) {
    if (t.type == Tok::Error) {
      std::string extra;
      if (action_line_ != 0 && action_line_ != t.line) {
        extra = " in action started at :" + std::to_string(action_line_);
        if (t.val.ends_with(" action")) extra.erase(0, std::string_view(" in action").size());
      }
      errorf(t.val + extra);
    }
    errorf("unexpected " + item_string(t) + " in " + context);
  }

  const Token& expect(Tok type, const std::string& context) {
    const Token& t = next_non_space();
    if (t.type != type) unexpected(t, context);
    return t;
  }

  // ---- grammar ----
  Node text_or_action() {
    const Token& t = next_non_space();
    if (t.type == Tok::Text) {
      Node n;
      n.kind = Node::Kind::Text;
      n.pos = t.pos;
      n.text = t.val;
      return n;
    }
    if (t.type != Tok::LeftDelim) unexpected(t, "input");
    action_line_ = t.line;
    Node n = action();
    action_line_ = 0;
    return n;
  }

  Node action() {
    const Token& t = next_non_space();
    switch (t.type) {
      case Tok::Block:
      case Tok::Define:
      case Tok::Template: errorf("{{" + t.val + "}} is not supported");
      case Tok::Break: return loop_control(t, Node::Kind::Break);
      case Tok::Continue: return loop_control(t, Node::Kind::Continue);
      case Tok::Else: return else_control();
      case Tok::End: return marker(Node::Kind::End, expect(Tok::RightDelim, "end").pos);
      case Tok::If: return control(Node::Kind::If, "if");
      case Tok::Range: return control(Node::Kind::Range, "range");
      case Tok::With: return control(Node::Kind::With, "with");
      default: break;
    }
    backup();
    Node n;
    n.kind = Node::Kind::Action;
    n.pos = peek().pos;
    n.pipe = pipeline("command", Tok::RightDelim);
    return n;
  }

  static Node marker(Node::Kind kind, size_t pos) {
    Node n;
    n.kind = kind;
    n.pos = pos;
    return n;
  }

  Node loop_control(const Token& keyword, Node::Kind kind) {
    std::string word = "{{" + keyword.val + "}}";
    const Token& t = next_non_space();
    if (t.type != Tok::RightDelim) unexpected(t, word);
    if (range_depth_ == 0) errorf(word + " outside {{range}}");
    return marker(kind, keyword.pos);
  }

  // "{{else if ...}}" and "{{else with ...}}" leave the keyword for
  // control() to read, so they nest as {{else}}{{if ...}}...{{end}}.
  Node else_control() {
    const Token& p = peek_non_space();
    if (p.type == Tok::If || p.type == Tok::With) return marker(Node::Kind::Else, p.pos);
    return marker(Node::Kind::Else, expect(Tok::RightDelim, "else").pos);
  }

  // if, range, with: parseControl.
  Node control(Node::Kind kind, const std::string& context) {
    Deeper deeper(*this);
    size_t vars_mark = vars_.size();  // variables declared inside end with it
    Node n;
    n.kind = kind;
    n.pipe = pipeline(context, Tok::RightDelim);
    n.pos = n.pipe->pos;
    if (kind == Node::Kind::Range) ++range_depth_;
    Node next_node = item_list(n.list);
    if (kind == Node::Kind::Range) --range_depth_;
    if (next_node.kind == Node::Kind::Else) {
      n.has_else = true;
      if (kind != Node::Kind::Range && peek().type == (kind == Node::Kind::If ? Tok::If : Tok::With)) {
        next();
        n.else_list.push_back(control(kind, context));  // its {{end}} ends this one too
      } else if (item_list(n.else_list).kind != Node::Kind::End) {
        errorf("expected end; found {{else}}");
      }
    }
    vars_.resize(vars_mark);
    return n;
  }

  // Nodes up to {{end}} or {{else}}, which is returned.
  Node item_list(List& list) {
    while (peek_non_space().type != Tok::Eof) {
      Node n = text_or_action();
      if (n.kind == Node::Kind::End || n.kind == Node::Kind::Else) return n;
      list.push_back(std::move(n));
    }
    errorf("unexpected EOF");
  }

  // Nesting (parentheses, if/range/with, else-if chains) recurses here, in
  // execution and in the tree's destructor: bounded, as Go's parser bounds
  // it (maxStackDepth), so a template cannot overflow the stack (2700
  // '(' did, under the fuzzer). No docker format nests more than a few.
  static constexpr int kMaxDepth = 200;
  struct Deeper {
    Parser& p;
    explicit Deeper(Parser& parser) : p(parser) {
      if (p.depth_ == kMaxDepth) p.errorf("max expression depth exceeded");
      ++p.depth_;
    }
    ~Deeper() { --p.depth_; }
    Deeper(const Deeper&) = delete;
    Deeper& operator=(const Deeper&) = delete;
  };

  std::unique_ptr<Pipe> pipeline(const std::string& context, Tok end) {
    Deeper deeper(*this);
    auto pipe = std::make_unique<Pipe>();
    pipe->pos = peek_non_space().pos;
    declarations(*pipe, context);
    for (;;) {
      const Token& t = next_non_space();
      if (t.type == end) {
        check_pipeline(*pipe, context);
        return pipe;
      }
      switch (t.type) {
        case Tok::Bool: case Tok::CharConstant: case Tok::Complex: case Tok::Dot: case Tok::Field:
        case Tok::Identifier: case Tok::Number: case Tok::Nil: case Tok::RawString: case Tok::String:
        case Tok::Variable: case Tok::LeftParen:
          backup();
          pipe->cmds.push_back(command());
          break;
        default:
          unexpected(t, context);
      }
    }
  }

  // "$x :=", "$x =", and in range "$i, $v :=".
  void declarations(Pipe& pipe, const std::string& context) {
    while (peek_non_space().type == Tok::Variable) {
      size_t at_variable = idx_;
      while (toks_[at_variable].type == Tok::Space) ++at_variable;
      const Token& v = next_non_space();
      const Token& after = peek_non_space();
      if (after.type == Tok::Assign || after.type == Tok::Declare) {
        pipe.is_assign = after.type == Tok::Assign;
        next_non_space();
        pipe.decl.push_back(v.val);
        vars_.push_back(v.val);
        return;
      }
      if (after.type == Tok::Char && after.val == ",") {
        next_non_space();
        pipe.decl.push_back(v.val);
        vars_.push_back(v.val);
        if (context == "range" && pipe.decl.size() < 2) {
          Tok t = peek_non_space().type;
          if (t == Tok::Variable || t == Tok::RightDelim || t == Tok::RightParen) continue;
          errorf("range can only initialize variables");
        }
        errorf("too many declarations in " + context);
      }
      idx_ = at_variable;  // "$x" is an operand, not a declaration
      return;
    }
  }

  void check_pipeline(const Pipe& pipe, const std::string& context) {
    if (pipe.cmds.empty()) errorf("missing value for " + context);
    for (size_t i = 1; i < pipe.cmds.size(); ++i) {
      switch (pipe.cmds[i].args[0]->kind) {
        case Operand::Kind::Bool: case Operand::Kind::Dot: case Operand::Kind::Nil:
        case Operand::Kind::Number: case Operand::Kind::String:
          errorf("non executable command in pipeline stage " + std::to_string(i + 1));
        default: break;
      }
    }
  }

  Command command() {
    Command cmd;
    cmd.pos = peek_non_space().pos;
    for (;;) {
      peek_non_space();
      if (auto op = operand()) cmd.args.push_back(std::move(op));
      const Token& t = next();
      if (t.type == Tok::Space) continue;
      if (t.type == Tok::RightDelim || t.type == Tok::RightParen) {
        backup();
      } else if (t.type != Tok::Pipe) {
        unexpected(t, "operand");
      }
      break;
    }
    if (cmd.args.empty()) errorf("empty command");
    return cmd;
  }

  // A term and the fields after it: ".A.B", "$x.A", "(pipe).A".
  std::unique_ptr<Operand> operand() {
    auto node = term();
    if (!node || peek().type != Tok::Field) return node;
    size_t chain_pos = peek().pos;
    std::vector<std::string> fields;
    while (peek().type == Tok::Field) fields.push_back(next().val.substr(1));
    switch (node->kind) {
      case Operand::Kind::Field:
      case Operand::Kind::Variable:
        node->fields.insert(node->fields.end(), fields.begin(), fields.end());
        node->pos = chain_pos;  // Go gives the node the chain's position
        return node;
      case Operand::Kind::Bool: case Operand::Kind::String: case Operand::Kind::Number:
      case Operand::Kind::Nil: case Operand::Kind::Dot:
        errorf("unexpected . after term " + gofmt::quote(node->str()));
      default: {
        auto chain = std::make_unique<Operand>();
        chain->kind = Operand::Kind::Chain;
        chain->pos = chain_pos;
        chain->fields = std::move(fields);
        chain->base = std::move(node);
        return chain;
      }
    }
  }

  std::unique_ptr<Operand> term() {
    const Token& t = next_non_space();
    auto op = std::make_unique<Operand>();
    op->pos = t.pos;
    switch (t.type) {
      case Tok::Identifier:
        if (!find_function(t.val, false)) errorf("function " + gofmt::quote(t.val) + " not defined");
        op->kind = Operand::Kind::Ident;
        op->name = t.val;
        return op;
      case Tok::Dot: op->kind = Operand::Kind::Dot; return op;
      case Tok::Nil: op->kind = Operand::Kind::Nil; return op;
      case Tok::Variable:
        if (std::find(vars_.begin(), vars_.end(), t.val) == vars_.end())
          errorf("undefined variable " + gofmt::quote(t.val));
        op->kind = Operand::Kind::Variable;
        op->name = t.val;
        return op;
      case Tok::Field:
        op->kind = Operand::Kind::Field;
        op->fields.push_back(t.val.substr(1));
        return op;
      case Tok::Bool:
        op->kind = Operand::Kind::Bool;
        op->boolean = t.val == "true";
        return op;
      case Tok::CharConstant: case Tok::Complex: case Tok::Number:
        op->kind = Operand::Kind::Number;
        op->number = number(t);
        return op;
      case Tok::LeftParen:
        op->kind = Operand::Kind::Pipe;
        op->pipe = pipeline("parenthesized pipeline", Tok::RightParen);
        op->pos = op->pipe->pos;
        return op;
      case Tok::String: case Tok::RawString:
        op->kind = Operand::Kind::String;
        op->name = t.val;
        if (!unquote(t.val, op->text)) errorf("invalid syntax");
        return op;
      default:
        backup();
        return nullptr;
    }
  }

  // parse.newNumber: which of int, uint and float the literal can be.
  Number number(const Token& t) {
    Number n;
    n.text = t.val;
    if (t.type == Tok::CharConstant) {
      std::string bytes;
      size_t i = 1;
      std::string_view text = t.val;
      if (!unquote_char(text, i, '\'', bytes)) errorf("invalid syntax");
      if (text.substr(i) != "'") errorf("malformed character constant: " + t.val);
      size_t k = 0;
      char32_t r = bytes.size() == 1 ? static_cast<unsigned char>(bytes[0]) : utf8::decode(bytes, k);
      n.is_int = n.is_uint = n.is_float = true;
      n.i = r;
      n.u = r;
      n.f = r;
      return n;
    }
    if (t.type == Tok::Complex || t.val.ends_with('i')) errorf("complex numbers are not supported: " + t.val);
    bool negative = false;
    uint64_t magnitude = 0;
    if (parse_go_integer(t.val, negative, magnitude)) {
      n.is_uint = !negative || magnitude == 0;
      n.u = negative ? 0 : magnitude;
      n.is_int = negative ? magnitude <= uint64_t{1} << 63 : magnitude <= INT64_MAX;
      n.i = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    }
    if (n.is_int || n.is_uint) {
      n.is_float = true;
      n.f = n.is_int ? static_cast<double>(n.i) : static_cast<double>(n.u);
      return n;
    }
    std::string plain;
    for (char c : t.val)
      if (c != '_') plain += c;
    char* end = nullptr;
    errno = 0;
    double f = std::strtod(plain.c_str(), &end);
    if (end != plain.c_str() + plain.size() || plain.empty() || errno == ERANGE)
      errorf("illegal number syntax: " + gofmt::quote(t.val));
    if (t.val.find_first_of(".eEpP") == std::string::npos) errorf("integer overflow: " + gofmt::quote(t.val));
    n.is_float = true;
    n.f = f;
    if (f >= -9.2e18 && f <= 9.2e18 && static_cast<double>(static_cast<int64_t>(f)) == f) {
      n.is_int = true;
      n.i = static_cast<int64_t>(f);
    }
    if (f >= 0 && f <= 1.8e19 && static_cast<double>(static_cast<uint64_t>(f)) == f) {
      n.is_uint = true;
      n.u = static_cast<uint64_t>(f);
    }
    return n;
  }

  std::vector<Token> toks_;
  size_t idx_ = 0;
  size_t furthest_ = 0;
  int action_line_ = 0;
  int range_depth_ = 0;
  int depth_ = 0;  // pipelines and controls open (Deeper)
  std::vector<std::string> vars_{"$"};
};

void collect_fields(const Pipe& pipe, std::vector<std::string>& names);

void collect_fields(const Operand& op, std::vector<std::string>& names) {
  auto add = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  if (op.kind == Operand::Kind::Field) add(op.fields.front());
  if (op.kind == Operand::Kind::Variable && op.name == "$" && !op.fields.empty()) add(op.fields.front());
  if (op.pipe) collect_fields(*op.pipe, names);
  if (op.base) collect_fields(*op.base, names);
}

void collect_fields(const Pipe& pipe, std::vector<std::string>& names) {
  for (const auto& cmd : pipe.cmds)
    for (const auto& arg : cmd.args) collect_fields(*arg, names);
}

void collect_fields(const List& list, std::vector<std::string>& names) {
  for (const auto& n : list) {
    if (n.pipe) collect_fields(*n.pipe, names);
    collect_fields(n.list, names);
    collect_fields(n.else_list, names);
  }
}

}  // namespace

void parse_into(Template::Impl& impl) {
  impl.root = Parser(impl.text).parse();
  collect_fields(impl.root, impl.field_names);
}

}  // namespace berth::gotmpl::detail
