// Internal to go_template*.cpp: tokens, syntax tree and built-in function
// table of the Go text/template port. Names and structure follow Go's
// text/template/parse so behaviour can be checked against it.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/go_template.hpp"

namespace berth::gotmpl::detail {

using nlohmann::json;

// ---- lexer (lex.go) ----

enum class Tok {
  Error,  // val is the message
  Eof,
  Text,
  LeftDelim,
  RightDelim,
  Space,
  Field,     // ".Name"
  Variable,  // "$x" or "$"
  Identifier,
  Bool,
  Number,
  CharConstant,
  Complex,
  String,     // quoted, val as written
  RawString,  // `...`
  Pipe,
  LeftParen,
  RightParen,
  Declare,  // :=
  Assign,   // =
  Char,     // any other printable ASCII character
  // keywords: everything after Keyword
  Keyword,
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Nil,
  Range,
  Template,
  With,
};

struct Token {
  Tok type;
  std::string val;
  size_t pos;
  int line;
};

// The whole token stream; it ends with Eof or, at the first lexical error,
// with an Error token.
std::vector<Token> lex(std::string_view input);

// ---- syntax tree (node.go) ----

// What an execution error points at: Go prints its position and text.
struct Located {
  size_t pos = 0;
  Located() = default;
  Located(const Located&) = default;
  Located& operator=(const Located&) = default;
  virtual ~Located() = default;
  virtual std::string str() const = 0;
};

struct Pipe;

struct Number {
  std::string text;  // as written
  bool is_int = false, is_uint = false, is_float = false;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
};

// An operand of a command.
struct Operand final : Located {
  enum class Kind { Field, Variable, Dot, Ident, String, Number, Bool, Nil, Pipe, Chain };
  Kind kind = Kind::Dot;
  std::string name;                 // Variable "$x"; Ident the function; String as quoted
  std::string text;                 // String: the unquoted value
  std::vector<std::string> fields;  // Field: all names; Variable, Chain: the names after the base
  Number number;
  bool boolean = false;
  std::unique_ptr<Pipe> pipe;     // Pipe
  std::unique_ptr<Operand> base;  // Chain: the term the fields apply to
  // Out of line, where Pipe is complete: clang instantiates an inline
  // virtual destructor here, with Pipe still incomplete.
  ~Operand() override;
  std::string str() const override;
};

struct Command final : Located {
  std::vector<std::unique_ptr<Operand>> args;
  std::string str() const override;
};

struct Pipe final : Located {
  bool is_assign = false;          // "$x = ..." rather than "$x := ..."
  std::vector<std::string> decl;   // the variables declared or assigned
  std::vector<Command> cmds;
  std::string str() const override;
};

struct Node;
using List = std::vector<Node>;

struct Node final : Located {
  // End and Else exist only while parsing.
  enum class Kind { Text, Action, If, Range, With, Break, Continue, End, Else };
  Kind kind = Kind::Text;
  std::string text;            // Text
  std::unique_ptr<Pipe> pipe;  // Action, If, Range, With
  List list, else_list;
  bool has_else = false;
  std::string str() const override;
};

}  // namespace berth::gotmpl::detail

namespace berth::gotmpl {

struct Template::Impl {
  std::string text;
  detail::List root;
  MissingKey missing = MissingKey::Error;
  std::vector<std::string> field_names;
};

}  // namespace berth::gotmpl

namespace berth::gotmpl::detail {

// Parses text into impl.root; throws Error with Go's message.
void parse_into(Template::Impl& impl);

// "template parsing error: ": docker puts it before every template error.
inline constexpr std::string_view kErrorPrefix = "template parsing error: ";

// ---- values and built-in functions (funcs.go, docker's templates.go) ----

// A value during execution: a JSON value borrowed from the data, or owned
// (a function's result) and kept alive by every value derived from it.
class Value {
 public:
  Value() : ref_(&null_json()) {}
  static Value of(const json& j) {
    Value v;
    v.ref_ = &j;
    return v;
  }
  static Value owned(json j) {
    Value v;
    v.own_ = std::make_shared<const json>(std::move(j));
    v.ref_ = v.own_.get();
    return v;
  }
  // A part of this value (an element, a member), sharing its owner.
  Value sub(const json& j) const {
    Value v = *this;
    v.ref_ = &j;
    return v;
  }
  const json& operator*() const { return *ref_; }
  const json* operator->() const { return ref_; }

 private:
  static const json& null_json() {
    static const json null;
    return null;
  }
  const json* ref_;
  std::shared_ptr<const json> own_;
};

// Go's truth: false, 0, "", empty arrays and objects, and null are false.
bool truth(const json& v);

// How a function takes an argument, checked before the call as Go's
// reflection does.
enum class Param : char {
  Any = 'a',
  String = 's',
  Int = 'i',
  List = 'l',  // an array (Go's []string for join); null is an empty one
};

// Thrown by a function: becomes "error calling NAME: MESSAGE".
struct CallError {
  std::string message;
};

struct Function {
  std::string_view name;
  // One Param character per argument; a trailing '*' repeats the one
  // before it zero or more times (variadic).
  std::string_view params;
  Value (*call)(const std::vector<Value>& args);
};

// The function by name, nullptr if there is none; `header` looks in docker's
// HeaderFunctions first. "and" and "or" are listed but evaluated lazily by
// the executor.
const Function* find_function(std::string_view name, bool header);

}  // namespace berth::gotmpl::detail
