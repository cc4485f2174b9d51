#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "dockerfile/dockerfile.hpp"
#include "common/error.hpp"

namespace berth::dockerfile {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view ltrim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view rtrim(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}
std::string_view trim(std::string_view s) { return rtrim(ltrim(s)); }

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}
std::string upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

[[noreturn]] void parse_error(const std::string& where, int line, const std::string& what) {
  throw Error(where + ":" + std::to_string(line) + ": " + what, ErrorKind::InvalidArgument);
}

const char* const kKeywords[] = {"from",  "run",    "cmd",     "entrypoint", "copy",       "add",
                                 "env",   "arg",    "workdir", "user",       "label",      "expose",
                                 "volume", "shell", "stopsignal", "healthcheck", "onbuild", "maintainer"};

bool known_keyword(const std::string& k) {
  return std::find(std::begin(kKeywords), std::end(kKeywords), k) != std::end(kKeywords);
}

// "# name = value" at the top of the file.
bool directive(std::string_view line, std::string* key, std::string* value) {
  line = trim(line);
  if (line.empty() || line[0] != '#') return false;
  line = ltrim(line.substr(1));
  size_t n = 0;
  if (line.empty() || !std::isalpha(static_cast<unsigned char>(line[0]))) return false;
  while (n < line.size() && std::isalnum(static_cast<unsigned char>(line[n]))) ++n;
  *key = lower(line.substr(0, n));
  line = ltrim(line.substr(n));
  if (line.empty() || line[0] != '=') return false;
  *value = std::string(trim(line.substr(1)));
  return !value->empty();
}

// Is this line's end an escape that continues it (docker: `\\[ \t]*$`)?
bool continues(std::string_view line, char escape) {
  line = rtrim(line);
  return !line.empty() && line.back() == escape;
}

// `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`, optionally after an fd number.
std::optional<Heredoc> heredoc_marker(std::string_view w) {
  size_t i = 0;
  while (i < w.size() && std::isdigit(static_cast<unsigned char>(w[i]))) ++i;
  if (w.substr(i, 2) != "<<") return std::nullopt;
  i += 2;
  Heredoc h;
  if (i < w.size() && w[i] == '-') h.strip_tabs = true, ++i;
  char quote = 0;
  if (i < w.size() && (w[i] == '"' || w[i] == '\'')) quote = w[i++];
  size_t start = i;
  if (i >= w.size() || !(std::isalpha(static_cast<unsigned char>(w[i])) || w[i] == '_')) return std::nullopt;
  while (i < w.size() && (std::isalnum(static_cast<unsigned char>(w[i])) || w[i] == '_')) ++i;
  h.name = std::string(w.substr(start, i - start));
  if (quote) {
    if (i >= w.size() || w[i] != quote) return std::nullopt;
    ++i;
    h.expand = false;
  }
  if (i != w.size()) return std::nullopt;
  return h;
}

// Splits flags ("--x=y" words at the front) off `rest`.
std::string_view take_flags(std::string_view rest, char escape, std::vector<std::string>* flags) {
  while (rest.starts_with("--")) {
    auto words = split_words(rest, escape);
    if (words.empty()) break;
    std::string w = words[0];
    // the word as written ends at the first unquoted blank: find it by length
    size_t len = 0, q = 0;
    bool esc = false;
    for (; len < rest.size(); ++len) {
      char c = rest[len];
      if (esc) {
        esc = false;
        continue;
      }
      if (c == escape) {
        esc = true;
        continue;
      }
      if (q) {
        if (c == static_cast<char>(q)) q = 0;
        continue;
      }
      if (c == '"' || c == '\'') {
        q = static_cast<unsigned char>(c);
        continue;
      }
      if (is_space(c)) break;
    }
    rest = ltrim(rest.substr(len));
    if (w == "--") break;
    flags->push_back(w);
  }
  return rest;
}

void name_values(Instruction& in, const std::string& where, char escape) {
  std::string kw = upper(in.keyword);
  if (in.rest.empty()) parse_error(where, in.line, kw + " requires at least one argument");
  auto words = split_words(in.rest, escape);
  if (words[0].find('=') == std::string::npos) {
    // The old form: "ENV name value with spaces".
    std::string_view r = in.rest;
    size_t sp = 0;
    while (sp < r.size() && !is_space(r[sp])) ++sp;
    std::string value(trim(r.substr(sp)));
    if (value.empty()) parse_error(where, in.line, kw + " must have two arguments");
    in.args = {words[0], value};
    return;
  }
  for (auto& w : words) {
    auto eq = w.find('=');
    if (eq == std::string::npos)
      parse_error(where, in.line,
                  "Syntax error - can't find = in \"" + w + "\". Must be of the form: name=value");
    if (eq == 0) parse_error(where, in.line, kw + " names can not be blank");
    in.args.push_back(w.substr(0, eq));
    in.args.push_back(w.substr(eq + 1));
  }
}

// Exec form if `rest` is a JSON array of strings. Text that starts like one
// (`["`) but is not valid JSON is an error rather than silently a shell
// command (docker would run it through the shell).
bool maybe_json(Instruction& in, const std::string& where) {
  if (!in.rest.starts_with("[")) return false;
  std::vector<std::string> v;
  if (parse_json_strings(in.rest, &v)) {
    in.args = std::move(v);
    in.json = true;
    return true;
  }
  if (in.rest.starts_with("[\""))
    parse_error(where, in.line, "bad JSON in the exec form of " + upper(in.keyword) + ": " + in.rest);
  return false;
}

// Fills keyword, flags, args from one logical line; heredoc markers are
// found but their bodies are read by the caller.
Instruction parse_logical(std::string_view logical, int line, const std::string& where, char escape) {
  Instruction in;
  in.line = line;
  logical = trim(logical);
  in.original = std::string(logical);
  size_t kw_end = 0;
  while (kw_end < logical.size() && !is_space(logical[kw_end])) ++kw_end;
  in.keyword = lower(logical.substr(0, kw_end));
  std::string kw = upper(in.keyword);
  if (!known_keyword(in.keyword)) parse_error(where, line, "unknown instruction: " + kw);
  std::string_view rest = ltrim(logical.substr(kw_end));
  rest = take_flags(rest, escape, &in.flags);
  in.rest = std::string(rtrim(rest));

  const std::string& k = in.keyword;
  if (k == "run" || k == "copy" || k == "add") {
    for (auto& w : split_words(in.rest, escape))
      if (auto h = heredoc_marker(w)) in.heredocs.push_back(*h);
  }
  if (k == "run" || k == "cmd" || k == "entrypoint") {
    if (!maybe_json(in, where) && !in.rest.empty()) in.args = {in.rest};
    if (k == "run" && in.args.empty() && !in.json) parse_error(where, line, "RUN requires at least one argument");
  } else if (k == "shell") {
    if (!maybe_json(in, where)) parse_error(where, line, "SHELL requires the arguments to be in JSON form");
    if (in.args.empty()) parse_error(where, line, "SHELL requires at least one argument");
  } else if (k == "copy" || k == "add" || k == "volume") {
    if (!maybe_json(in, where)) in.args = split_words(in.rest, escape);
    if (in.args.empty()) parse_error(where, line, kw + " requires at least one argument");
  } else if (k == "env" || k == "label") {
    name_values(in, where, escape);
  } else if (k == "healthcheck") {
    auto words = split_words(in.rest, escape);
    if (words.empty()) parse_error(where, line, "HEALTHCHECK requires at least one argument");
    std::string type = upper(words[0]);
    if (type == "NONE") {
      if (words.size() > 1) parse_error(where, line, "HEALTHCHECK NONE takes no arguments");
      in.args = {"NONE"};
    } else if (type == "CMD") {
      Instruction cmd;
      cmd.keyword = "cmd";
      cmd.line = line;
      cmd.rest = std::string(trim(std::string_view(in.rest).substr(3)));
      if (cmd.rest.empty()) parse_error(where, line, "HEALTHCHECK CMD requires an argument");
      if (!maybe_json(cmd, where)) cmd.args = {cmd.rest};
      in.args = {"CMD"};
      in.args.insert(in.args.end(), cmd.args.begin(), cmd.args.end());
      in.json = cmd.json;
    } else {
      parse_error(where, line, "unknown type \"" + words[0] + "\" in HEALTHCHECK (try CMD)");
    }
  } else if (k == "onbuild") {
    if (in.rest.empty()) parse_error(where, line, "ONBUILD requires at least one argument");
    Instruction trigger = parse_logical(in.rest, line, where, escape);
    if (trigger.keyword == "onbuild") parse_error(where, line, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (trigger.keyword == "from" || trigger.keyword == "maintainer")
      parse_error(where, line, upper(trigger.keyword) + " isn't allowed as an ONBUILD trigger");
    if (!trigger.heredocs.empty()) parse_error(where, line, "heredocs are not supported in ONBUILD triggers");
    in.args = {in.rest};
  } else if (k == "maintainer") {
    if (in.rest.empty()) parse_error(where, line, "MAINTAINER requires exactly one argument");
    in.args = {in.rest};
  } else {  // from, arg, workdir, user, expose, stopsignal
    in.args = split_words(in.rest, escape);
    if (in.args.empty()) parse_error(where, line, kw + " requires at least one argument");
  }
  return in;
}

}  // namespace

std::vector<std::string> split_words(std::string_view s, char escape) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false, escaped = false;
  char quote = 0;
  for (char c : s) {
    if (!in_word) {
      if (is_space(c)) continue;
      in_word = true;
    }
    if (escaped) {
      word += c;
      escaped = false;
      continue;
    }
    if (c == escape) {
      word += c;
      escaped = true;
      continue;
    }
    if (quote == 0 && is_space(c)) {
      words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    if (quote == c) quote = 0;
    else if (quote == 0 && (c == '"' || c == '\'')) quote = c;
    word += c;
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

bool parse_json_strings(std::string_view s, std::vector<std::string>* out) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return false;
  std::vector<std::string> v;
  for (auto& e : j) {
    if (!e.is_string()) return false;
    v.push_back(e.get<std::string>());
  }
  *out = std::move(v);
  return true;
}

Instruction parse_instruction_line(std::string_view line, char escape, const std::string& where) {
  auto in = parse_logical(line, 1, where, escape);
  if (!in.heredocs.empty()) parse_error(where, 1, "heredocs are not supported here");
  return in;
}

Dockerfile parse_dockerfile(std::string_view text, const std::string& name) {
  Dockerfile df;
  df.name = name;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 BOM
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    std::string_view l = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (l.ends_with('\r')) l.remove_suffix(1);
    lines.push_back(l);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }

  size_t i = 0;
  bool seen_escape = false, seen_syntax = false;
  for (; i < lines.size(); ++i) {
    std::string key, value;
    if (!directive(lines[i], &key, &value)) break;
    if (key == "escape") {
      if (seen_escape) parse_error(name, static_cast<int>(i + 1), "only one escape parser directive can be used");
      if (value != "`" && value != "\\")
        parse_error(name, static_cast<int>(i + 1), "invalid escape token '" + value + "' does not match ` or \\");
      df.escape = value[0];
      seen_escape = true;
    } else if (key == "syntax") {
      if (seen_syntax) parse_error(name, static_cast<int>(i + 1), "only one syntax parser directive can be used");
      df.syntax = value;
      seen_syntax = true;
    } else if (key != "check") {
      break;  // an unknown directive is a comment, and ends the directives
    }
  }

  while (i < lines.size()) {
    std::string_view first = ltrim(lines[i]);
    if (first.empty() || first[0] == '#') {
      ++i;
      continue;
    }
    int start = static_cast<int>(i + 1);
    std::string logical;
    bool more = true;
    bool first_line = true;
    while (more && i < lines.size()) {
      std::string_view l = lines[i++];
      if (!first_line) {
        std::string_view t = ltrim(l);
        if (!t.empty() && t[0] == '#') continue;  // comments inside a continuation are dropped
        if (t.empty()) {
          df.warnings.push_back(name + ":" + std::to_string(i) + ": empty continuation line");
          continue;
        }
      }
      first_line = false;
      if (continues(l, df.escape)) {
        std::string_view t = rtrim(l);
        logical.append(t.substr(0, t.size() - 1));
      } else {
        logical.append(l);
        more = false;
      }
    }
    Instruction in = parse_logical(logical, start, name, df.escape);
    for (auto& h : in.heredocs) {
      bool closed = false;
      while (i < lines.size()) {
        std::string_view l = lines[i++];
        if (h.strip_tabs)
          while (!l.empty() && l.front() == '\t') l.remove_prefix(1);
        if (l == h.name) {
          closed = true;
          break;
        }
        h.content.append(l);
        h.content.push_back('\n');
      }
      if (!closed) parse_error(name, start, "heredoc " + h.name + " has no terminating line \"" + h.name + "\"");
    }
    df.instructions.push_back(std::move(in));
  }
  return df;
}

}  // namespace berth::dockerfile
