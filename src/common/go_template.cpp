// Execution of a parsed Go template over JSON: a port of text/template's
// exec.go (walk, evalPipeline, evalCommand, evalField, evalCall, ...),
// where the data's maps and slices are JSON objects and arrays. Errors name
// the node being evaluated, as Go's do: 'template: :1:2: executing "" at
// <.Nope>: ...'.
#include "common/go_template.hpp"

#include <algorithm>
#include <optional>
#include <span>

#include "common/error.hpp"
#include "common/go_fmt.hpp"
#include "common/go_template_ast.hpp"

namespace berth::gotmpl {

using namespace detail;

namespace {

enum class Flow { Normal, Break, Continue };

using Operands = std::span<const std::unique_ptr<Operand>>;

std::string param_type(Param p) {
  switch (p) {
    case Param::String: return "string";
    case Param::Int: return "int";
    case Param::List: return "[]string";
    case Param::Any: break;
  }
  return "interface {}";
}

class State {
 public:
  State(const Template::Impl& t, std::string& out, bool header, MissingKey missing)
      : t_(t), out_(out), header_(header), strict_(missing == MissingKey::Error) {}

  void run(const json& data) {
    Value dot = Value::of(data);
    vars_.emplace_back("$", dot);
    walk(dot, t_.root);
  }

 private:
  // ---- errors: "template: :LINE:COL: executing "" at <NODE>: MESSAGE" ----
  void at(const Located& node) { at_ = &node; }

  [[noreturn]] void errorf(const std::string& message) const {
    std::string where = "template: : ";
    if (at_) {
      size_t pos = std::min(at_->pos, t_.text.size());
      std::string_view before = std::string_view(t_.text).substr(0, pos);
      size_t nl = before.rfind('\n');
      size_t column = nl == std::string_view::npos ? pos : pos - (nl + 1);  // Go's column: 0-based
      size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
      where = "template: :" + std::to_string(line) + ":" + std::to_string(column) + ": executing \"\" at <" +
              at_->str() + ">: ";
    }
    throw Error(std::string(kErrorPrefix) + where + message, ErrorKind::InvalidArgument);
  }

  // ---- variables: a stack, popped at the end of each control structure ----
  const Value& var_value(const std::string& name) const {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
      if (it->first == name) return it->second;
    errorf("undefined variable: " + name);
  }
  void set_var(const std::string& name, const Value& v) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) {
        it->second = v;
        return;
      }
    }
    errorf("undefined variable: " + name);
  }

  // ---- statements ----
  Flow walk(const Value& dot, const List& list) {
    for (const Node& n : list) {
      Flow f = walk(dot, n);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

  Flow walk(const Value& dot, const Node& n) {
    at(n);
    switch (n.kind) {
      case Node::Kind::Text: out_ += n.text; return Flow::Normal;
      case Node::Kind::Action: {
        Value v = eval_pipeline(dot, *n.pipe);
        if (n.pipe->decl.empty()) print_value(n, v);
        return Flow::Normal;
      }
      case Node::Kind::If:
      case Node::Kind::With: return walk_if_or_with(dot, n);
      case Node::Kind::Range: return walk_range(dot, n);
      case Node::Kind::Break: return Flow::Break;
      case Node::Kind::Continue: return Flow::Continue;
      case Node::Kind::End:
      case Node::Kind::Else: break;
    }
    return Flow::Normal;
  }

  void print_value(const Node& n, const Value& v) {
    at(n);
    if (v->is_null()) {
      out_ += "<no value>";
    } else {
      gofmt::append_value(out_, *v);
    }
  }

  Flow walk_if_or_with(const Value& dot, const Node& n) {
    size_t mark = vars_.size();
    Value v = eval_pipeline(dot, *n.pipe);
    Flow f = Flow::Normal;
    if (truth(*v)) {
      f = walk(n.kind == Node::Kind::With ? v : dot, n.list);
    } else if (n.has_else) {
      f = walk(dot, n.else_list);
    }
    vars_.resize(mark);
    return f;
  }

  Flow walk_range(const Value& dot, const Node& r) {
    at(r);
    size_t outer = vars_.size();
    Value v = eval_pipeline(dot, *r.pipe);
    size_t mark = vars_.size();
    const auto& decl = r.pipe->decl;
    // Returns false on {{break}}.
    auto one = [&](const Value& index, const Value& elem) {
      if (!decl.empty()) {
        if (r.pipe->is_assign) {
          set_var(decl[0], decl.size() > 1 ? index : elem);
        } else {
          vars_[mark - 1].second = elem;  // the last declared gets the element
        }
      }
      if (decl.size() > 1) {
        if (r.pipe->is_assign) {
          set_var(decl[1], elem);
        } else {
          vars_[mark - 2].second = index;
        }
      }
      Flow f = walk(elem, r.list);
      vars_.resize(mark);
      return f != Flow::Break;
    };
    const json& j = *v;
    bool ran = false;
    if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) {
        ran = true;
        if (!one(Value::owned(i), v.sub(j[i]))) break;
      }
    } else if (j.is_object()) {
      for (const auto& [key, elem] : j.items()) {  // sorted keys, as Go sorts map keys
        ran = true;
        if (!one(Value::owned(key), v.sub(elem))) break;
      }
    } else if (j.is_number_integer()) {
      if (decl.size() > 1) errorf("can't use " + gofmt::value(j) + " to iterate over more than one variable");
      int64_t n = j.is_number_unsigned() ? static_cast<int64_t>(j.get<uint64_t>()) : j.get<int64_t>();
      for (int64_t i = 0; i < n; ++i) {
        ran = true;
        if (!one(Value::owned(i), Value::owned(i))) break;
      }
    } else if (!j.is_null()) {
      errorf("range can't iterate over " + gofmt::value(j));
    }
    if (!ran && r.has_else) walk(dot, r.else_list);
    vars_.resize(outer);
    return Flow::Normal;
  }

  // ---- expressions ----
  Value eval_pipeline(const Value& dot, const Pipe& pipe) {
    at(pipe);
    std::optional<Value> v;
    for (const Command& cmd : pipe.cmds) v = eval_command(dot, cmd, v);
    for (const auto& name : pipe.decl) {
      if (pipe.is_assign) {
        set_var(name, *v);
      } else {
        vars_.emplace_back(name, *v);
      }
    }
    return *v;
  }

  // Go's notAFunction: only a function or a field chain takes arguments.
  void not_a_function(const Command& cmd, const std::optional<Value>& final) {
    if (cmd.args.size() > 1 || final) errorf("can't give argument to non-function " + cmd.args[0]->str());
  }

  Value eval_command(const Value& dot, const Command& cmd, const std::optional<Value>& final) {
    const Operand& first = *cmd.args[0];
    bool has_args = cmd.args.size() > 1 || final;
    switch (first.kind) {
      case Operand::Kind::Field: at(first); return eval_field_chain(dot, first, first.fields, has_args);
      case Operand::Kind::Chain: return eval_chain(dot, first, has_args);
      case Operand::Kind::Ident: return eval_function(dot, first, cmd, Operands(cmd.args).subspan(1), final);
      case Operand::Kind::Pipe: not_a_function(cmd, final); return eval_pipeline(dot, *first.pipe);
      case Operand::Kind::Variable: return eval_variable(first, cmd, final);
      default: break;
    }
    at(first);
    not_a_function(cmd, final);
    switch (first.kind) {
      case Operand::Kind::Bool: return Value::owned(first.boolean);
      case Operand::Kind::Dot: return dot;
      case Operand::Kind::Nil: errorf("nil is not a command");
      case Operand::Kind::Number: return ideal_constant(first);
      case Operand::Kind::String: return Value::owned(first.text);
      default: break;
    }
    errorf("can't evaluate command " + first.str());
  }

  Value eval_variable(const Operand& var, const Command& cmd, const std::optional<Value>& final) {
    at(var);
    const Value& v = var_value(var.name);
    if (var.fields.empty()) {
      not_a_function(cmd, final);
      return v;
    }
    return eval_field_chain(v, var, var.fields, cmd.args.size() > 1 || final);
  }

  Value eval_chain(const Value& dot, const Operand& chain, bool has_args) {
    at(chain);
    if (chain.base->kind == Operand::Kind::Nil) errorf("indirection through explicit nil in " + chain.str());
    Value base = eval_arg(dot, *chain.base, Param::Any);
    return eval_field_chain(base, chain, chain.fields, has_args);
  }

  // The fields of names in turn, from receiver; only the last may be given
  // arguments (which is an error: JSON has no methods).
  Value eval_field_chain(Value receiver, const Located& node, const std::vector<std::string>& names, bool has_args) {
    for (size_t i = 0; i < names.size(); ++i) {
      at(node);
      receiver = eval_field(names[i], i + 1 == names.size() && has_args, receiver);
    }
    return receiver;
  }

  // A JSON object's member; missing ones per the MissingKey mode.
  Value eval_field(const std::string& name, bool has_args, const Value& receiver) {
    const json& r = *receiver;
    if (r.is_null()) {
      if (strict_) errorf("nil pointer evaluating interface {}." + name);
      return Value();
    }
    if (!r.is_object()) errorf("can't evaluate field " + name + " in type " + std::string(gofmt::type_name(r)));
    if (has_args) errorf(name + " is not a method but has arguments");
    auto it = r.find(name);
    if (it != r.end()) return receiver.sub(*it);
    if (strict_) errorf("can't evaluate field " + name + " in type map[string]interface {}");
    return Value();
  }

  Value eval_function(const Value& dot, const Operand& ident, const Located& node, Operands args,
                      const std::optional<Value>& final) {
    at(ident);
    const Function& f = *find_function(ident.name, header_);
    size_t given = args.size() + (final ? 1 : 0);
    std::string_view params = f.params;
    bool variadic = params.ends_with('*');
    size_t fixed = variadic ? params.size() - 2 : params.size();
    if (variadic && given < fixed) {
      errorf("wrong number of args for " + ident.name + ": want at least " + std::to_string(fixed) + " got " +
             std::to_string(args.size()));
    }
    if (!variadic && given != fixed) {
      errorf("wrong number of args for " + ident.name + ": want " + std::to_string(fixed) + " got " +
             std::to_string(given));
    }
    auto param = [&](size_t i) { return static_cast<Param>(i < fixed ? params[i] : params[fixed]); };
    if (f.call == nullptr) {  // and, or: stop at the first argument that decides
      bool is_or = ident.name == "or";
      Value v;
      for (const auto& arg : args) {
        v = eval_arg(dot, *arg, Param::Any);
        if (truth(*v) == is_or) return v;
      }
      return final ? *final : v;
    }
    std::vector<Value> argv;
    for (size_t i = 0; i < args.size(); ++i) argv.push_back(eval_arg(dot, *args[i], param(i)));
    if (final) argv.push_back(validate(*final, param(args.size())));
    try {
      return f.call(argv);
    } catch (const CallError& e) {
      at(node);
      errorf("error calling " + ident.name + ": " + e.message);
    }
  }

  // Go's evalArg: literals are checked against the parameter as written,
  // anything else is evaluated and its value checked.
  Value eval_arg(const Value& dot, const Operand& n, Param p) {
    at(n);
    const std::string expected = p == Param::Int ? "integer" : param_type(p);
    auto refuse_literal = [&]() -> Value {
      if (p == Param::List) errorf("can't handle " + n.str() + " for arg of type []string");
      errorf("expected " + expected + "; found " + n.str());
    };
    switch (n.kind) {
      case Operand::Kind::Nil:
        if (p != Param::Any) errorf("cannot assign nil to " + param_type(p));
        return Value();
      case Operand::Kind::String:
        if (p == Param::Any || p == Param::String) return Value::owned(n.text);
        return refuse_literal();
      case Operand::Kind::Bool:
        if (p == Param::Any) return Value::owned(n.boolean);
        return refuse_literal();
      case Operand::Kind::Number:
        if (p == Param::Any) return ideal_constant(n);
        if (p == Param::Int && n.number.is_int) return Value::owned(n.number.i);
        return refuse_literal();
      case Operand::Kind::Dot: return validate(dot, p);
      case Operand::Kind::Field: return validate(eval_field_chain(dot, n, n.fields, false), p);
      case Operand::Kind::Variable:
        if (n.fields.empty()) return validate(var_value(n.name), p);
        return validate(eval_field_chain(var_value(n.name), n, n.fields, false), p);
      case Operand::Kind::Pipe: return validate(eval_pipeline(dot, *n.pipe), p);
      case Operand::Kind::Ident: return validate(eval_function(dot, n, n, {}, std::nullopt), p);
      case Operand::Kind::Chain: return validate(eval_chain(dot, n, false), p);
    }
    return Value();
  }

  // Go's validateType.
  Value validate(const Value& v, Param p) {
    const json& j = *v;
    switch (p) {
      case Param::Any: return v;
      case Param::String:
        if (j.is_string()) return v;
        break;
      case Param::Int: {
        if (j.is_number_integer()) return v;
        int64_t i = 0;
        if (gofmt::integral_value(j, i)) return Value::owned(i);  // 3.0 from JSON is a fine 3
        break;
      }
      case Param::List:
        if (j.is_array() || j.is_null()) return v;
        break;
    }
    // A JSON null is a nil interface{}, which Go names so.
    std::string got = j.is_null() ? "interface {}" : std::string(gofmt::type_name(j));
    errorf("wrong type for value; expected " + param_type(p) + "; got " + got);
  }

  // A number literal where any type goes: float64 if written like one, else int.
  Value ideal_constant(const Operand& n) {
    const Number& num = n.number;
    const std::string& text = num.text;
    bool hex_int = text.size() > 2 && text[0] == '0' && (text[1] | 0x20) == 'x' &&
                   text.find_first_of("pP") == std::string::npos;
    bool rune_int = text.starts_with('\'');
    if (num.is_float && !hex_int && !rune_int && text.find_first_of(".eEpP") != std::string::npos)
      return Value::owned(num.f);
    if (num.is_int) return Value::owned(num.i);
    errorf(text + " overflows int");
  }

  const Template::Impl& t_;
  std::string& out_;
  bool header_;
  bool strict_;
  const Located* at_ = nullptr;
  std::vector<std::pair<std::string, Value>> vars_;
};

}  // namespace

Template::Template() : impl_(std::make_shared<Impl>()) {}

std::string Template::execute(const json& data) const {
  std::string out;
  execute_into(out, data);
  return out;
}

void Template::execute_into(std::string& out, const json& data) const {
  State(*impl_, out, false, impl_->missing).run(data);
}

std::string Template::execute_header(const json& headers) const {
  std::string out;
  try {
    State(*impl_, out, true, MissingKey::NoValue).run(headers);
  } catch (const Error&) {
    // docker ignores the header template's error and prints what it wrote
  }
  return out;
}

const std::vector<std::string>& Template::field_names() const { return impl_->field_names; }

const std::string& Template::text() const { return impl_->text; }

Template parse(std::string_view text, MissingKey missing) {
  auto impl = std::make_shared<Template::Impl>();
  impl->text = std::string(text);
  impl->missing = missing;
  parse_into(*impl);
  return Template(std::move(impl));
}

}  // namespace berth::gotmpl
