// Go text/template over JSON data: the language of docker's --format and
// inspect -f, so berth takes the same strings.
//
//   gotmpl::Template t = gotmpl::parse("{{.ID}}\t{{.Names}}");  // once
//   std::string line = t.execute(row);                          // per row
//
// The language is Go's: {{.Field}}, {{.A.B}}, {{.}}, {{$}}, variables
// ({{$x := .A}}, {{$x = .B}}), pipelines ({{.Name | upper}}), parentheses
// ({{(index .Ports 0).HostPort}}), {{if}}/{{else if}}/{{else}}/{{end}},
// {{with}}/{{else with}}, {{range}} (arrays, objects by sorted key,
// integers; {{range $i, $v := .List}}; {{break}}, {{continue}}), comments
// ({{/* */}}), trim markers ({{- and -}}), string, raw string, char, number,
// bool and nil literals. Functions: Go's and, or, not, len, index, slice,
// eq, ne, lt, le, gt, ge, print, printf, println, html, js, urlquery, and
// docker's json, split, join, title, lower, upper, pad, truncate.
// Not supported: {{define}}, {{template}}, {{block}} (a parse error), call,
// complex numbers. upper, lower and title map Latin, Greek and Cyrillic
// letters (Go maps every script); truncate never cuts a UTF-8 sequence
// in two (docker's can).
//
// The data is JSON as Go sees JSON decoded into an interface{}: objects are
// maps, so a field is a key; truth is Go's (false, 0, "", [], {} and null
// are false). Output is Go's fmt (common/go_fmt.hpp): numbers without a
// trailing ".0", "map[k:v]", "[a b]"; a null or missing value prints
// "<no value>". Where Go would refuse JSON's typing, this is lenient, as
// docker's typed structs are: numbers compare across int/float, an integral
// float is a valid int argument, join takes any array (or null), index on
// null gives null, and index of a missing key in an object of strings
// gives "" (a map[string]string's zero value, e.g. a missing label).
//
// Errors are Error(InvalidArgument) worded as docker prints them:
//   template parsing error: template: :1: function "foo" not defined
//   template parsing error: template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type map[string]interface {}
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace berth::gotmpl {

// What a key missing from an object gives ({{.Nope}} on {"A": 1}).
enum class MissingKey {
  Error,    // an execution error, as docker's typed commands give for an unknown field
  NoValue,  // null, printed "<no value>" (Go's default for maps)
};

class Template {
 public:
  // The empty template: prints nothing.
  Template();

  // Runs the template with `data` as dot and $.
  std::string execute(const nlohmann::json& data) const;
  // Same, appending to out; on an error what was written before it stays
  // in out (Go's Execute writes as it goes).
  void execute_into(std::string& out, const nlohmann::json& data) const;

  // docker's table header: runs the template over `headers` (field name ->
  // column title) with docker's HeaderFunctions, where json, split, join,
  // title, lower, upper and truncate return their first argument unchanged
  // (pad still pads, to keep the columns aligned). Missing keys print
  // "<no value>". An execution error is ignored and the output up to it
  // kept, as docker does.
  std::string execute_header(const nlohmann::json& headers) const;

  // The field names read from dot or $ at the top of a field chain, in
  // order of first use: "{{.ID}} {{.State.Pid}} {{$.Name}}" -> ID, State, Name.
  const std::vector<std::string>& field_names() const;

  // The template's text as given to parse().
  const std::string& text() const;

  struct Impl;

 private:
  explicit Template(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  friend Template parse(std::string_view text, MissingKey missing);
  std::shared_ptr<const Impl> impl_;  // immutable once parsed: copies share it
};

// Parses text; throws Error(InvalidArgument) on a syntax error or an
// unknown function. MissingKey::Error is what the CLI uses.
Template parse(std::string_view text, MissingKey missing = MissingKey::Error);

}  // namespace berth::gotmpl
