// The Dockerfile front end: bytes in, an AST out. Pure (no files, no
// environment), so it can be fuzzed and unit-tested alone.
//
// What it does, as docker's parser (moby/buildkit frontend/dockerfile/parser):
// parser directives at the top (`# escape=`` ` and `# syntax=`, which is
// noted, not acted on); the escape character ending a line continues it;
// comment lines are dropped, also inside a continuation; flags (`--from=x`)
// are split off every instruction; exec (JSON) and shell forms; heredocs
// (`<<EOF`, `<<-EOF`, `<<"EOF"`) for RUN, COPY and ADD, whose bodies are the
// raw lines that follow the instruction.
//
// It does no variable substitution (shell_words.hpp does, at build time,
// with the ARG and ENV values of that point) and keeps quotes in the words
// it splits, for the same reason.
//
// Errors are berth::Error(InvalidArgument) naming "FILE:LINE: ...".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::dockerfile {

struct Heredoc {
  std::string name;     // the delimiter word
  std::string content;  // the body, each line with its "\n" (tabs stripped for <<-)
  bool expand = true;   // unquoted delimiter: $VARS in the body are expanded
  bool strip_tabs = false;
};

struct Instruction {
  std::string keyword;   // lower case: "from", "run", ...
  std::string original;  // as written, continuation lines joined (for history and errors)
  int line = 0;          // where it starts, 1-based
  std::vector<std::string> flags;  // "--from=build", as written
  // Shell form: the words, quotes kept (ENV/LABEL: name, value, name,
  // value...). Exec form: the JSON strings.
  std::vector<std::string> args;
  bool json = false;
  std::string rest;  // the arguments after the flags, as one string (RUN/CMD/ENTRYPOINT shell form)
  std::vector<Heredoc> heredocs;
};

struct Dockerfile {
  std::string name;  // for errors: "Dockerfile"
  char escape = '\\';
  std::string syntax;  // the `# syntax=` directive, if any (noted only)
  std::vector<Instruction> instructions;
  std::vector<std::string> warnings;  // "Dockerfile:3: empty continuation line"
};

Dockerfile parse_dockerfile(std::string_view text, const std::string& name = "Dockerfile");

// One ONBUILD trigger or `commit --change` line, parsed as an instruction
// (its heredocs are not supported there, as in docker).
Instruction parse_instruction_line(std::string_view line, char escape, const std::string& where);

// Words split on unquoted whitespace, quotes and escapes kept (docker's
// parseWords).
std::vector<std::string> split_words(std::string_view s, char escape);

// "[\"a\", \"b\"]" -> {a, b}; false if `s` is not a JSON array of strings.
bool parse_json_strings(std::string_view s, std::vector<std::string>* out);

}  // namespace berth::dockerfile
