// The Go text/template port: each construct, docker's documented examples,
// and the error texts docker prints. Expected outputs are what Go's
// text/template prints for the same template over the same JSON.
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/go_template.hpp"
#include "test_support.hpp"

namespace {

using berth::Error;
using berth::ErrorKind;
using berth::gotmpl::MissingKey;
using nlohmann::json;

// A container as `inspect` shows it (trimmed).
const json& container() {
  static const json c = json::parse(R"({
    "Id": "3f2a9c1b7d4e",
    "Name": "/web",
    "State": {"Status": "running", "Running": true, "Pid": 4242, "ExitCode": 0, "Health": null},
    "Config": {
      "Image": "nginx:1.25",
      "Env": ["PATH=/usr/bin", "A=1"],
      "Labels": {"com.x": "y", "maintainer": "me"},
      "Cmd": ["nginx", "-g", "daemon off;"]
    },
    "Mounts": [
      {"Type": "volume", "Source": "/var/lib/berth/volumes/data", "Destination": "/data"},
      {"Type": "bind", "Source": "/etc/app", "Destination": "/etc/app"}
    ],
    "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": null}},
    "Ratio": 1.5,
    "Whole": 3.0,
    "Million": 1e6,
    "Empty": "",
    "None": null
  })");
  return c;
}

std::string run(std::string_view tmpl, const json& data = container(), MissingKey missing = MissingKey::Error) {
  return berth::gotmpl::parse(tmpl, missing).execute(data);
}

// The message of the error parsing or running tmpl throws.
std::string error_of(std::string_view tmpl, const json& data = container()) {
  try {
    run(tmpl, data);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
    return e.what();
  }
  return "(no error)";
}

// ---- fields and printing ----

TEST(GoTemplate, FieldsAndChains) {
  EXPECT_EQ(run("{{.Id}}"), "3f2a9c1b7d4e");
  EXPECT_EQ(run("{{.State.Pid}}"), "4242");
  EXPECT_EQ(run("pid {{ .State.Pid }} of {{.Name}}"), "pid 4242 of /web");
  EXPECT_EQ(run("{{.}}", json("plain")), "plain");
  EXPECT_EQ(run("{{$.Name}}"), "/web");
  EXPECT_EQ(run("{{with .State}}{{$.Name}} {{.Status}}{{end}}"), "/web running");
}

TEST(GoTemplate, ValuesPrintAsGoPrintsThem) {
  EXPECT_EQ(run("{{.Ratio}} {{.Whole}} {{.Million}} {{.State.Running}}"), "1.5 3 1e+06 true");
  EXPECT_EQ(run("{{.Config.Env}}"), "[PATH=/usr/bin A=1]");
  EXPECT_EQ(run("{{.Config.Labels}}"), "map[com.x:y maintainer:me]");
  EXPECT_EQ(run("{{.NetworkSettings.Ports}}"), "map[443/tcp:<nil> 80/tcp:[map[HostIp:0.0.0.0 HostPort:8080]]]");
  EXPECT_EQ(run("{{.None}}|{{.Empty}}|"), "<no value>||");
  EXPECT_EQ(run("{{.}}", json::array()), "[]");
  EXPECT_EQ(run("{{.}}", json::object()), "map[]");
  EXPECT_EQ(run("{{.}}", json(0.0001)), "0.0001");
  EXPECT_EQ(run("{{.}}", json(0.00001)), "1e-05");
  EXPECT_EQ(run("{{.}}", json(123456.0)), "123456");
  EXPECT_EQ(run("{{.}}", json(1234567.0)), "1.234567e+06");
  EXPECT_EQ(run("{{.}}", json(-7)), "-7");
  EXPECT_EQ(run("{{.}}", json(18446744073709551615u)), "18446744073709551615");
}

TEST(GoTemplate, Literals) {
  EXPECT_EQ(run(R"({{"a\tb\u00e9\x41"}}|{{`raw\n`}})"), "a\tb\xc3\xa9" "A|raw\\n");
  EXPECT_EQ(run("{{'a'}} {{0x10}} {{0o17}} {{0b101}} {{1_000}} {{-2}} {{+3}} {{.5}} {{1e3}} {{2.50}}"),
            "97 16 15 5 1000 -2 3 0.5 1000 2.5");
  EXPECT_EQ(run("{{true}} {{false}}"), "true false");
}

TEST(GoTemplate, TrimMarkersAndComments) {
  EXPECT_EQ(run("a  \n {{- .Name -}} \n  b"), "a/webb");
  EXPECT_EQ(run("a {{- 3}} {{4 -}} b"), "a3 4b");
  EXPECT_EQ(run("x{{/* a comment */}}y{{- /* trimmed */ -}}  z"), "xyz");
  EXPECT_EQ(run("{{-3}}"), "-3");  // no space after '-': a number, not a trim marker
}

// ---- control structures ----

TEST(GoTemplate, Range) {
  EXPECT_EQ(run("{{range .Mounts}}{{.Source}} {{end}}"), "/var/lib/berth/volumes/data /etc/app ");
  EXPECT_EQ(run("{{range .Config.Env}}[{{.}}]{{end}}"), "[PATH=/usr/bin][A=1]");
  EXPECT_EQ(run("{{range $i, $e := .Config.Cmd}}{{$i}}:{{$e}} {{end}}"), "0:nginx 1:-g 2:daemon off; ");
  EXPECT_EQ(run("{{range $e := .Config.Cmd}}{{$e}},{{end}}"), "nginx,-g,daemon off;,");
  // Objects iterate in sorted key order.
  EXPECT_EQ(run("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"), "com.x=y;maintainer=me;");
  EXPECT_EQ(run("{{range .Config.Labels}}{{.}} {{end}}"), "y me ");
  EXPECT_EQ(run("{{range .N}}x{{else}}none{{end}} {{range .L}}x{{else}}empty{{end}}",
                json{{"L", json::array()}, {"N", nullptr}}),
            "none empty");
  EXPECT_EQ(run("{{range 3}}{{.}}{{end}}"), "012");
  EXPECT_EQ(run("{{range .Mounts}}{{if eq .Type \"bind\"}}{{break}}{{end}}{{.Type}} {{end}}"), "volume ");
  EXPECT_EQ(run("{{range .Mounts}}{{if eq .Type \"volume\"}}{{continue}}{{end}}{{.Type}}{{end}}"), "bind");
  EXPECT_EQ(run("{{range .Mounts}}{{$.Name}}:{{.Destination}} {{end}}"), "/web:/data /web:/etc/app ");
}

TEST(GoTemplate, IfElseAndGoTruth) {
  EXPECT_EQ(run("{{if .State.Running}}up{{else}}down{{end}}"), "up");
  EXPECT_EQ(run("{{if .None}}a{{else if .Empty}}b{{else if .Whole}}c{{else}}d{{end}}"), "c");
  // false, 0, "", [], {} and null are false; everything else true.
  const json values = json::parse(R"([false, 0, 0.0, "", [], {}, null, true, 1, -1.5, "x", [0], {"a": null}])");
  std::string truth;
  for (const auto& v : values) truth += run("{{if .}}T{{else}}F{{end}}", v);
  EXPECT_EQ(truth, "FFFFFFFTTTTTT");
  EXPECT_EQ(run("{{if and .State.Running (eq .State.ExitCode 0)}}ok{{end}}"), "ok");
  EXPECT_EQ(run("{{if not .None}}no{{end}}"), "no");
}

TEST(GoTemplate, With) {
  EXPECT_EQ(run("{{with .State}}{{.Status}} {{.Pid}}{{end}}"), "running 4242");
  EXPECT_EQ(run("{{with .None}}x{{else}}nothing{{end}}"), "nothing");
  EXPECT_EQ(run("{{with .None}}x{{else with .Config.Image}}{{.}}{{end}}"), "nginx:1.25");
  EXPECT_EQ(run("{{with $s := .State.Status}}{{$s}}{{end}}"), "running");
}

TEST(GoTemplate, Variables) {
  EXPECT_EQ(run("{{$x := .Name}}{{$x}}{{$x = \"other\"}} {{$x}}"), "/web other");
  EXPECT_EQ(run("{{$n := 0}}{{range .Mounts}}{{$n = .Type}}{{end}}{{$n}}"), "bind");
  EXPECT_EQ(run("{{$x := 1}}{{with .State}}{{$x := 2}}{{$x}}{{end}}{{$x}}"), "21");
}

// ---- functions ----

TEST(GoTemplate, DockerFunctions) {
  EXPECT_EQ(run("{{json .Config}}"),
            R"({"Cmd":["nginx","-g","daemon off;"],"Env":["PATH=/usr/bin","A=1"],"Image":"nginx:1.25",)"
            R"("Labels":{"com.x":"y","maintainer":"me"}})");
  EXPECT_EQ(run("{{json .Name}} {{json .None}} {{json .Whole}} {{json .Million}}"), R"("/web" null 3 1000000)");
  // encoding/json without HTML escaping, with Go's float and line-separator rules.
  EXPECT_EQ(run("{{json .}}", json::parse(R"(["<&>", "\u2028", 1e21, 1e-7, 0.5])")),
            R"(["<&>","\u2028",1e+21,1e-7,0.5])");
  EXPECT_EQ(run("{{join .Config.Env \", \"}}"), "PATH=/usr/bin, A=1");
  EXPECT_EQ(run("{{join .None \",\"}}|"), "|");
  EXPECT_EQ(run("{{split .Config.Image \":\"}} {{index (split .Config.Image \":\") 1}}"), "[nginx 1.25] 1.25");
  EXPECT_EQ(run("{{split \"ab\" \"\"}} {{split \"\" \",\"}}"), "[a b] []");
  EXPECT_EQ(run("{{lower \"MiXed\"}} {{upper .State.Status}} {{title \"hello wide-world_x\"}}"),
            "mixed RUNNING Hello Wide-World_x");
  // Case mapping covers Latin, Greek and Cyrillic letters, as Go's does.
  EXPECT_EQ(run("{{upper .}}|{{lower .}}|{{title .}}", json("h\u00e9llo w\u00f6rld \u03c3\u03c2 \u0434\u0436")),
            "H\u00c9LLO W\u00d6RLD \u03a3\u03a3 \u0414\u0416|h\u00e9llo w\u00f6rld \u03c3\u03c2 \u0434\u0436|"
            "H\u00e9llo W\u00f6rld \u03a3\u03c2 \u0414\u0436");
  EXPECT_EQ(run("[{{pad .Name 2 1}}] [{{pad .Empty 2 1}}]"), "[  /web ] []");
  // Found by tests/fuzz/go_template: a padding of 2222222222 allocated 22 GB.
  EXPECT_NE(error_of("{{pad .Name 0 2222222222}}").find("pad: a padding of 2222222222 is more than 1048576"),
            std::string::npos);
  EXPECT_EQ(run("{{truncate .Id 4}} {{truncate .Id 99}}"), "3f2a 3f2a9c1b7d4e");
  // docker cuts bytes and can split a character; this never does.
  EXPECT_EQ(run("{{truncate . 2}}", json("h\xc3\xa9llo")), "h");
}

TEST(GoTemplate, GoBuiltins) {
  EXPECT_EQ(run("{{len .Mounts}} {{len .Name}} {{len .Config.Labels}} {{len .None}}"), "2 4 2 0");
  EXPECT_EQ(run("{{index .Config.Labels \"com.x\"}}"), "y");
  EXPECT_EQ(run("[{{index .Config.Labels \"absent\"}}]"), "[]");  // a missing label is "", as in docker
  EXPECT_EQ(run("{{index .Config.Cmd 1}} {{index .Mounts 1 \"Type\"}} {{index .Name 1}}"), "-g bind 119");
  EXPECT_EQ(run("{{(index .Mounts 0).Destination}}"), "/data");
  EXPECT_EQ(run("{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}"), "8080");
  EXPECT_EQ(run("{{slice .Id 0 4}} {{slice .Config.Cmd 1}} {{slice .Config.Cmd 1 2}}"), "3f2a [-g daemon off;] [-g]");
  EXPECT_EQ(run("{{print \"a\" 1 2 \"b\" .None}}"), "a1 2b<nil>");
  EXPECT_EQ(run("{{println .Name 1}}"), "/web 1\n");
  EXPECT_EQ(run("{{printf \"%s has pid %d (%v)\" .Name .State.Pid .State.Running}}"), "/web has pid 4242 (true)");
  EXPECT_EQ(run("{{html \"<a href='x'>&</a>\"}}"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(run("{{js \"it's <b>\"}} {{urlquery \"a b&c=d\"}}"), "it\\'s \\u003Cb\\u003E a+b%26c%3Dd");
}

TEST(GoTemplate, Printf) {
  auto p = [](std::string_view args) { return run("{{printf " + std::string(args) + "}}"); };
  EXPECT_EQ(p(R"("%5s|%-5s|%.2s|%q" "ab" "ab" "abc" "a\"b")"), R"(   ab|ab   |ab|"a\"b")");
  EXPECT_EQ(p(R"("%d|%+d|% d|%04d|%-4d|%x|%X|%#x|%o|%b|%c|%U" 7 7 7 -7 7 255 255 255 8 5 65 65)"),
            "7|+7| 7|-007|7   |ff|FF|0xff|10|101|A|U+0041");
  EXPECT_EQ(p(R"("%f|%.2f|%8.3f|%05.1f|%e|%g|%v" 3.14159 3.14159 3.14159 3.14159 1234.5678 0.00001 2.0)"),
            "3.141590|3.14|   3.142|003.1|1.234568e+03|1e-05|2");
  EXPECT_EQ(p(R"("%t %v %T %T %T" true .Config.Env .Name .State.Pid .Mounts)"),
            "true [PATH=/usr/bin A=1] string int []interface {}");
  EXPECT_EQ(p(R"("%d%%")" " 50"), "50%");
  EXPECT_EQ(p(R"("%*d|%-*d|" 4 7 4 7)"), "   7|7   |");
  // Go's in-band errors rather than failures.
  EXPECT_EQ(p(R"("%d %s" 1)"), "1 %!s(MISSING)");
  EXPECT_EQ(p(R"("%d" "x")"), "%!d(string=x)");
  EXPECT_EQ(p(R"("%s" 1 2)"), "%!s(int=1)%!(EXTRA int=2)");
  EXPECT_EQ(p(R"("%s" .None)"), "%!s(<nil>)");
  EXPECT_EQ(p(R"("%d" .Config.Cmd)"), "[%!d(string=nginx) %!d(string=-g) %!d(string=daemon off;)]");
  // Explicit operand indexes.
  EXPECT_EQ(p(R"("%[1]d %[1]x %[2]s" 10 "a")"), "10 a a");
  EXPECT_EQ(p(R"("%[2]*[1]d|" 4 3)"), "  4|");
  EXPECT_EQ(p(R"("%.[2]*[1]f|" 3.14159 2)"), "3.14|");
  EXPECT_EQ(p(R"("%[3]d %[x]d" 1)"), "%!d(BADINDEX) %!d(BADINDEX)");
}

TEST(GoTemplate, Comparisons) {
  EXPECT_EQ(run("{{eq .State.Pid 4242}} {{eq .Name \"x\" \"/web\"}} {{ne .Name \"/web\"}}"), "true true false");
  EXPECT_EQ(run("{{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1 2}}"), "true true true false");
  EXPECT_EQ(run("{{eq .Whole 3}} {{lt .Ratio 2}}"), "true true");  // JSON floats against int literals
  EXPECT_EQ(run("{{eq .None .None}} {{eq .None 0}}"), "true false");
}

TEST(GoTemplate, AndOrReturnTheDecidingValue) {
  EXPECT_EQ(run("{{and 1 0 2}}|{{and 1 2}}|{{or 0 \"\" \"x\"}}|{{or 0 \"\"}}|"), "0|2|x||");
  // Short-circuit: the failing index is never evaluated.
  EXPECT_EQ(run("{{and 0 (index .Mounts 99)}} {{or 1 (index .Mounts 99)}}"), "0 1");
  EXPECT_EQ(run("{{.Name | or .None}}"), "/web");
}

TEST(GoTemplate, Pipelines) {
  EXPECT_EQ(run("{{.Name | upper}}"), "/WEB");
  EXPECT_EQ(run("{{.Config.Image | printf \"image=%s\"}}"), "image=nginx:1.25");
  EXPECT_EQ(run("{{\"a\" | printf \"%s-%s\" \"b\"}}"), "b-a");  // the piped value comes last
  EXPECT_EQ(run("{{join .Config.Env \";\" | lower | len}}"), "17");
  // The piped value is the last argument, so this gives join ";" as its list, as in Go.
  EXPECT_EQ(error_of("{{.Config.Env | join \";\"}}"), "template parsing error: template: :1:21: executing \"\" "
                                                     "at <\";\">: can't handle \";\" for arg of type []string");
  EXPECT_EQ(run("{{(.Name)}} {{(len .Mounts)}}"), "/web 2");
}

TEST(GoTemplate, ParsedOnceExecutedPerRow) {
  auto t = berth::gotmpl::parse("{{.ID}}\t{{.Names}}");
  EXPECT_EQ(t.execute(json{{"ID", "a1"}, {"Names", "web"}}), "a1\tweb");
  EXPECT_EQ(t.execute(json{{"ID", "b2"}, {"Names", "db"}}), "b2\tdb");
  auto copy = t;
  EXPECT_EQ(copy.execute(json{{"ID", "c3"}, {"Names", "x"}}), "c3\tx");
  EXPECT_EQ(copy.text(), "{{.ID}}\t{{.Names}}");
  EXPECT_EQ(berth::gotmpl::Template().execute(json::object()), "");
}

TEST(GoTemplate, FieldNames) {
  auto t = berth::gotmpl::parse("{{.ID}} {{.State.Pid}} {{$.Name}} {{upper .ID}} {{range .Mounts}}{{.Source}}{{end}}");
  EXPECT_EQ(t.field_names(), (std::vector<std::string>{"ID", "State", "Name", "Mounts", "Source"}));
}

TEST(GoTemplate, HeaderUsesDockersHeaderFunctions) {
  auto t = berth::gotmpl::parse("{{.ID}}\t{{upper .Names}}\t{{json .Labels}}\t{{join .Names \",\"}}\t{{truncate .ID 3}}");
  EXPECT_EQ(t.execute_header(json{{"ID", "CONTAINER ID"}, {"Names", "NAMES"}, {"Labels", "LABELS"}}),
            "CONTAINER ID\tNAMES\tLABELS\tNAMES\tCONTAINER ID");
  // pad is not replaced (it keeps the header aligned with the padded cells);
  // missing keys print <no value>; an error stops the header where it is.
  EXPECT_EQ(berth::gotmpl::parse("{{pad .ID 1 1}}|{{.X}}").execute_header(json{{"ID", "ID"}}), " ID |<no value>");
  EXPECT_EQ(berth::gotmpl::parse("a {{.ID.Sub}} b").execute_header(json{{"ID", "ID"}}), "a ");
}

// ---- errors ----

TEST(GoTemplate, ParseErrorsAreDockers) {
  EXPECT_EQ(error_of("{{foo .Id}}"), R"(template parsing error: template: :1: function "foo" not defined)");
  EXPECT_EQ(error_of("{{.Id"), "template parsing error: template: :1: unclosed action");
  EXPECT_EQ(error_of("{{.Id\n\n"), "template parsing error: template: :3: unclosed action started at :1");
  EXPECT_EQ(error_of("{{if .Id}}x"), "template parsing error: template: :1: unexpected EOF");
  EXPECT_EQ(error_of("a\n{{end}}"), "template parsing error: template: :2: unexpected {{end}}");
  // Nesting is bounded, as Go's parser bounds it: 2700 '(' overflowed the
  // stack (the go_template fuzzer, session 10).
  EXPECT_NE(error_of("{{" + std::string(5000, '(')).find("max expression depth exceeded"), std::string::npos);
  std::string nested_ifs;
  for (int i = 0; i < 300; ++i) nested_ifs += "{{if true}}";
  EXPECT_NE(error_of(nested_ifs).find("max expression depth exceeded"), std::string::npos);
  EXPECT_EQ(run("{{((((((((((.Name))))))))))}}"), run("{{.Name}}"));
  EXPECT_EQ(error_of("{{else}}"), "template parsing error: template: :1: unexpected {{else}}");
  EXPECT_EQ(error_of("{{$x}}"), R"(template parsing error: template: :1: undefined variable "$x")");
  EXPECT_EQ(error_of("{{if 1}}{{$x := 1}}{{end}}{{$x}}"), R"(template parsing error: template: :1: undefined variable "$x")");
  EXPECT_EQ(error_of("{{}}"), "template parsing error: template: :1: missing value for command");
  EXPECT_EQ(error_of("{{.Id | 3}}"), "template parsing error: template: :1: non executable command in pipeline stage 2");
  EXPECT_EQ(error_of("{{1a}}"), R"(template parsing error: template: :1: bad number syntax: "1a")");
  EXPECT_EQ(error_of("{{\"abc}}"), "template parsing error: template: :1: unterminated quoted string");
  EXPECT_EQ(error_of("{{''}}"), "template parsing error: template: :1: invalid syntax");
  EXPECT_EQ(error_of("{{'ab'}}"), "template parsing error: template: :1: malformed character constant: 'ab'");
  EXPECT_EQ(error_of("{{.Id }x}}"), R"(template parsing error: template: :1: unexpected "}" in operand)");
  EXPECT_EQ(error_of("{{(.Id}}"), "template parsing error: template: :1: unclosed left paren");
  EXPECT_EQ(error_of("{{.Id)}}"), "template parsing error: template: :1: unexpected right paren");
  EXPECT_EQ(error_of("{{/* x */ .Id}}"), "template parsing error: template: :1: comment ends before closing delimiter");
  EXPECT_EQ(error_of("{{break}}"), "template parsing error: template: :1: {{break}} outside {{range}}");
  EXPECT_EQ(error_of("{{range $a, $b, $c := .X}}{{end}}"),
            "template parsing error: template: :1: too many declarations in range");
  EXPECT_EQ(error_of("{{\"x\".Id}}"), R"(template parsing error: template: :1: unexpected . after term "\"x\"")");
  EXPECT_EQ(error_of("{{template \"x\"}}"), "template parsing error: template: :1: {{template}} is not supported");
}

TEST(GoTemplate, ExecutionErrorsAreDockers) {
  EXPECT_EQ(error_of("{{.Nope}}"), "template parsing error: template: :1:2: executing \"\" at <.Nope>: "
                                   "can't evaluate field Nope in type map[string]interface {}");
  // A chain's position is its second field's, as in Go.
  EXPECT_EQ(error_of("x\n  {{.State.Nope}}"), "template parsing error: template: :2:10: executing \"\" at "
                                              "<.State.Nope>: can't evaluate field Nope in type map[string]interface {}");
  EXPECT_EQ(error_of("{{range .Mounts}}{{.Nope}}{{end}}"),
            "template parsing error: template: :1:19: executing \"\" at <.Nope>: "
            "can't evaluate field Nope in type map[string]interface {}");
  EXPECT_EQ(error_of("{{.Name.X}}"), "template parsing error: template: :1:7: executing \"\" at <.Name.X>: "
                                     "can't evaluate field X in type string");
  EXPECT_EQ(error_of("{{.State.Health.Status}}"),
            "template parsing error: template: :1:8: executing \"\" at <.State.Health.Status>: "
            "nil pointer evaluating interface {}.Status");
  EXPECT_EQ(error_of("{{upper .State.Pid}}"), "template parsing error: template: :1:14: executing \"\" at "
                                              "<.State.Pid>: wrong type for value; expected string; got int");
  EXPECT_EQ(error_of("{{upper 3}}"),
            "template parsing error: template: :1:8: executing \"\" at <3>: expected string; found 3");
  EXPECT_EQ(error_of("{{len 1 2}}"),
            "template parsing error: template: :1:2: executing \"\" at <len>: wrong number of args for len: want 1 got 2");
  EXPECT_EQ(error_of("{{index .Mounts 5}}"), "template parsing error: template: :1:2: executing \"\" at "
                                             "<index .Mounts 5>: error calling index: index out of range: 5");
  EXPECT_EQ(error_of("{{eq .Name 1}}"), "template parsing error: template: :1:2: executing \"\" at <eq .Name 1>: "
                                        "error calling eq: incompatible types for comparison");
  EXPECT_EQ(error_of("{{range .Name}}{{end}}"),
            "template parsing error: template: :1:8: executing \"\" at <.Name>: range can't iterate over /web");
  EXPECT_EQ(error_of("{{.Name 1}}"), "template parsing error: template: :1:2: executing \"\" at <.Name>: "
                                     "Name is not a method but has arguments");
  EXPECT_EQ(error_of("{{3 .Name}}"), "template parsing error: template: :1:2: executing \"\" at <3>: "
                                     "can't give argument to non-function 3");
  EXPECT_EQ(error_of("{{(1) 2}}"), "template parsing error: template: :1:2: executing \"\" at <(1) 2>: "
                                   "can't give argument to non-function 1");
  EXPECT_EQ(error_of("{{upper .None}}"), "template parsing error: template: :1:8: executing \"\" at <.None>: "
                                         "wrong type for value; expected string; got interface {}");
  EXPECT_EQ(error_of("{{printf \"%s\" (index .Mounts 9)}}"),
            "template parsing error: template: :1:15: executing \"\" at <index .Mounts 9>: "
            "error calling index: index out of range: 9");
  EXPECT_EQ(error_of("{{index .NetworkSettings.Ports 1}}"),
            "template parsing error: template: :1:2: executing \"\" at <index .NetworkSettings.Ports 1>: "
            "error calling index: value has type int; should be string");
  // A float too large for an int64 where an int goes: an error, not a cast
  // (undefined behaviour before).
  EXPECT_EQ(error_of("{{$x := 1e300}}{{pad .Name 0 $x}}"),
            "template parsing error: template: :1:29: executing \"\" at <$x>: "
            "wrong type for value; expected int; got float64");
  EXPECT_EQ(error_of("{{$x := 1e300}}{{index .Config.Cmd $x}}"),
            "template parsing error: template: :1:17: executing \"\" at <index .Config.Cmd $x>: "
            "error calling index: cannot index slice/array with type float64");
  EXPECT_EQ(run("{{$x := 1.0}}{{index .Config.Cmd $x}}"), "-g");  // an integral float is an int
  EXPECT_EQ(error_of("{{index .State.Pid 0}}"), "template parsing error: template: :1:2: executing \"\" at "
                                                "<index .State.Pid 0>: error calling index: can't index item of type int");
}

TEST(GoTemplate, LenientModeGivesNoValue) {
  EXPECT_EQ(run("{{.Nope}}|{{.State.Nope}}|{{.Nope.Deeper}}|{{.State.Health.Status}}", container(),
                MissingKey::NoValue),
            "<no value>|<no value>|<no value>|<no value>");
  EXPECT_EQ(run("{{if .Nope}}y{{else}}n{{end}}", container(), MissingKey::NoValue), "n");
  // Fields of non-objects are errors in both modes, as in Go.
  EXPECT_THROW(run("{{.Name.X}}", container(), MissingKey::NoValue), Error);
}

TEST(GoTemplate, OutputWrittenBeforeAnErrorStays) {
  std::string out = "prefix:";
  EXPECT_THROW(berth::gotmpl::parse("{{.Name}} {{.Nope}}").execute_into(out, container()), Error);
  EXPECT_EQ(out, "prefix:/web ");
}

}  // namespace
