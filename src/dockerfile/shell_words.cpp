#include "dockerfile/shell_words.hpp"

#include <cctype>

#include "common/error.hpp"

namespace berth::dockerfile {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// What the lexer produces: one string, or words split at unquoted blanks.
struct Output {
  bool split = false;
  std::vector<std::string> words;
  std::string cur;
  bool have = false;  // a word has begun (also an empty quoted one: "")

  void raw(char c) {
    cur += c;
    have = true;
  }
  void quoted(std::string_view v) {
    cur += v;
    have = true;
  }
  void unquoted(std::string_view v) {
    if (!split) {
      cur += v;
      if (!v.empty()) have = true;
      return;
    }
    for (char c : v) {
      if (is_space(c)) flush();
      else raw(c);
    }
  }
  void flush() {
    if (have) words.push_back(cur);
    cur.clear();
    have = false;
  }
};

class Lexer {
 public:
  Lexer(std::string_view s, const Vars& vars, char esc) : s_(s), vars_(vars), esc_(esc) {}

  // Processes until an unquoted `stop` (consumed) or the end; true if `stop` was met.
  bool run(Output& o, char stop) {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (stop && c == stop) {
        ++pos_;
        return true;
      }
      if (c == '\'') {
        ++pos_;
        o.quoted("");
        while (pos_ < s_.size() && s_[pos_] != '\'') o.raw(s_[pos_++]);
        if (pos_ >= s_.size()) fail("unexpected end of statement while looking for matching single-quote");
        ++pos_;
      } else if (c == '"') {
        ++pos_;
        o.quoted("");
        double_quoted(o);
      } else if (c == '$') {
        o.unquoted(variable());
      } else if (c == esc_) {
        ++pos_;
        if (pos_ < s_.size()) o.raw(s_[pos_++]);
      } else if (o.split && is_space(c)) {
        o.flush();
        ++pos_;
      } else {
        o.raw(c);
        ++pos_;
      }
    }
    return false;
  }

  // A heredoc body: only variables and `\$`, `\\` are special.
  std::string heredoc() {
    std::string out;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '$') {
        out += variable();
      } else if (c == esc_ && pos_ + 1 < s_.size() && (s_[pos_ + 1] == '$' || s_[pos_ + 1] == esc_)) {
        out += s_[pos_ + 1];
        pos_ += 2;
      } else {
        out += c;
        ++pos_;
      }
    }
    return out;
  }

 private:
  void double_quoted(Output& o) {
    for (;;) {
      if (pos_ >= s_.size()) fail("unexpected end of statement while looking for matching double-quote");
      char d = s_[pos_];
      if (d == '"') {
        ++pos_;
        return;
      }
      if (d == '$') {
        o.quoted(variable());
        continue;
      }
      if (d == esc_ && pos_ + 1 < s_.size() && (s_[pos_ + 1] == '"' || s_[pos_ + 1] == '$' || s_[pos_ + 1] == esc_)) {
        o.raw(s_[pos_ + 1]);
        pos_ += 2;
        continue;
      }
      o.raw(d);
      ++pos_;
    }
  }

  const std::string* lookup(const std::string& name) const {
    auto it = vars_.find(name);
    return it == vars_.end() ? nullptr : &it->second;
  }

  // At a '$': the substitution's value.
  std::string variable() {
    ++pos_;
    if (pos_ >= s_.size()) return "$";
    if (s_[pos_] != '{') {
      if (!name_start(s_[pos_])) return "$";
      size_t start = pos_;
      while (pos_ < s_.size() && name_char(s_[pos_])) ++pos_;
      auto* v = lookup(std::string(s_.substr(start, pos_ - start)));
      return v ? *v : "";
    }
    ++pos_;
    size_t start = pos_;
    while (pos_ < s_.size() && name_char(s_[pos_])) ++pos_;
    std::string name(s_.substr(start, pos_ - start));
    if (pos_ >= s_.size()) fail("missing '}' in substitution ${" + name);
    if (name.empty()) fail("bad substitution: ${" + std::string(1, s_[pos_]));
    char c = s_[pos_++];
    if (c == '}') {
      auto* v = lookup(name);
      return v ? *v : "";
    }
    bool colon = false;
    if (c == ':') {
      colon = true;
      if (pos_ >= s_.size()) fail("missing '}' in substitution ${" + name);
      c = s_[pos_++];
    }
    if (c != '-' && c != '+' && c != '?')
      fail(std::string("unsupported modifier (") + (colon ? ":" : "") + c + ") in substitution ${" + name + "}");
    Output word;
    if (!run(word, '}')) fail("missing '}' in substitution ${" + name);
    auto* v = lookup(name);
    bool set = v && (!colon || !v->empty());
    switch (c) {
      case '-':
        return set ? *v : word.cur;
      case '+':
        return set ? word.cur : "";
      default:  // '?'
        if (!set) fail(name + ": " + (word.cur.empty() ? "is not allowed to be unset" : word.cur));
        return *v;
    }
  }

  [[noreturn]] static void fail(const std::string& what) { throw Error(what, ErrorKind::InvalidArgument); }

  std::string_view s_;
  size_t pos_ = 0;
  const Vars& vars_;
  char esc_;
};

}  // namespace

std::string expand_word(std::string_view word, const Vars& vars, char escape) {
  Output o;
  Lexer(word, vars, escape).run(o, 0);
  return o.cur;
}

std::vector<std::string> expand_words(std::string_view text, const Vars& vars, char escape) {
  Output o;
  o.split = true;
  Lexer(text, vars, escape).run(o, 0);
  o.flush();
  return o.words;
}

std::string expand_heredoc(std::string_view body, const Vars& vars, char escape) {
  return Lexer(body, vars, escape).heredoc();
}

}  // namespace berth::dockerfile
