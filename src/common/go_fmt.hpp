// Go's fmt, strconv and encoding/json output for JSON values: what a Go
// program prints for a value decoded from JSON, so that {{.X}}, {{printf}}
// and {{json}} in a --format template print what docker prints.
//
// A JSON integer is a Go int, a JSON float a float64 (so 3.0 prints "3" and
// 1e6 prints "1e+06", as Go does), null is Go's nil ("<nil>"), an array
// []interface{} and an object map[string]interface{} (keys sorted).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace berth::gofmt {

// v as a Go int, into out: a JSON integer (an unsigned one past int64
// saturates) or a float with no fraction inside int64's range (3.0 decoded
// from JSON is a fine 3). False for anything else, 1e300 included: a cast of
// such a double to int64 would be undefined behaviour.
bool integral_value(const nlohmann::json& v, int64_t& out);

// fmt's %v of v appended to out: "abc", "42", "1.5", "true", "<nil>",
// "[a b]", "map[k:v]".
void append_value(std::string& out, const nlohmann::json& v);
std::string value(const nlohmann::json& v);

// Operands of the print functions; a null pointer is not allowed.
using Args = std::span<const nlohmann::json* const>;

// fmt.Sprint: operands as %v, a space between two when neither is a string.
std::string sprint(Args args);
// fmt.Sprintln: operands as %v, always a space between, a newline at the end.
std::string sprintln(Args args);
// fmt.Sprintf. Verbs: %v %s %q %d %b %o %O %x %X %c %U %e %E %f %F %g %G
// %t %T %%, flags "+-# 0", width and precision (also '*'), operand indexes
// ("%[2]d"). Go's error forms for a wrong verb, a missing, extra or badly
// indexed operand ("%!d(string=x)", "%!s(MISSING)", "%!(EXTRA int=1)",
// "%!d(BADINDEX)"). Not supported: %#v (printed as %v), the '#' flag's
// trailing zeros for %g, %p, and %b/%x on floats (printed as a bad verb).
std::string sprintf(std::string_view format, Args args);

// encoding/json's Marshal with SetEscapeHTML(false), as docker's {{json}}:
// compact, object keys sorted, floats as Go writes them (1 not 1.0, 1e+21),
// U+2028/U+2029 escaped, invalid UTF-8 as U+FFFD.
std::string marshal(const nlohmann::json& v);

// strconv.Quote: a double-quoted Go string literal.
std::string quote(std::string_view s);

// The Go type of the value decoded from JSON into an interface{}, for
// messages: "string", "int", "float64", "bool", "[]interface {}",
// "map[string]interface {}", "<nil>".
std::string_view type_name(const nlohmann::json& v);

// strconv.FormatFloat(v, fmt, prec, 64) for fmt 'e', 'E', 'f', 'g', 'G';
// prec -1 is the shortest text that reads back as v.
std::string format_float(double v, char fmt, int prec);

}  // namespace berth::gofmt
