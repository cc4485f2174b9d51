// Docker's word processing for the instructions that substitute variables
// (FROM, ADD, COPY, ENV, ARG, LABEL, EXPOSE, STOPSIGNAL, USER, VOLUME,
// WORKDIR, and ONBUILD's text only when it runs): quotes are removed, the
// escape character escapes the next character, and $name, ${name},
// ${name:-word}, ${name-word}, ${name:+word}, ${name+word}, ${name:?msg},
// ${name?msg} are replaced with the ARG/ENV values in effect. Single quotes
// keep everything literal; in double quotes the escape character only
// escapes `"`, `$` and itself (moby/buildkit frontend/dockerfile/shell/lex.go).
//
// Pure: an error is berth::Error(InvalidArgument) without a location; the
// builder adds "FILE:LINE: ".
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::dockerfile {

using Vars = std::map<std::string, std::string>;

// One word (quotes removed, variables replaced).
std::string expand_word(std::string_view word, const Vars& vars, char escape = '\\');

// Like expand_word, but unquoted whitespace (written or from a variable's
// value) separates words, as docker's ProcessWords.
std::vector<std::string> expand_words(std::string_view text, const Vars& vars, char escape = '\\');

// A heredoc body whose delimiter was not quoted: $variables replaced,
// quotes kept (only `\$`, `\\` and a `\` before a newline are escapes).
std::string expand_heredoc(std::string_view body, const Vars& vars, char escape = '\\');

}  // namespace berth::dockerfile
