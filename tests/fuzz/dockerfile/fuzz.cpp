// The Dockerfile front end (src/dockerfile/): parse_dockerfile (directives,
// continuations, flags, exec and shell forms, heredocs), then what the
// builder does with each instruction's words at build time: variable
// expansion (shell_words.cpp) of its arguments and heredoc bodies, and the
// ONBUILD / `commit --change` path (parse_instruction_line). A Dockerfile
// comes with a build context from anyone. Beyond not crashing: every
// instruction has a known lower-case keyword and a line inside the file,
// and the exec form's strings read back as a JSON array.
#include <nlohmann/json.hpp>
#include <string>

#include "dockerfile/dockerfile.hpp"
#include "dockerfile/shell_words.hpp"
#include "fuzz_support.hpp"

using namespace berth;
using namespace berth::dockerfile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  fuzz::reject([&] {
    Dockerfile df = parse_dockerfile(in, "Dockerfile");
    FUZZ_CHECK(df.escape == '\\' || df.escape == '`', std::string(1, df.escape));
    int lines = 1;
    for (char c : in) lines += c == '\n';
    // Vars as an ARG/ENV would set them, one with a space (word splitting).
    const Vars vars = {{"A", "a"}, {"B", "two words"}, {"EMPTY", ""}};
    for (const auto& ins : df.instructions) {
      FUZZ_CHECK(!ins.keyword.empty(), ins.original);
      for (char c : ins.keyword) FUZZ_CHECK(c >= 'a' && c <= 'z', ins.keyword);
      FUZZ_CHECK(ins.line >= 1 && ins.line <= lines, std::to_string(ins.line));
      if (ins.json) {  // the exec form's strings (valid UTF-8: JSON), printed as JSON, read back the same
        std::vector<std::string> back;
        std::string again = nlohmann::json(ins.args).dump();
        FUZZ_CHECK(parse_json_strings(again, &back) && back == ins.args, again);
      }
      // Each word and the whole text through the builder's expansion:
      // an unset ${X:?msg} is a clean Error, nothing else may escape.
      for (const auto& a : ins.args) fuzz::reject([&] { (void)expand_word(a, vars, df.escape); });
      fuzz::reject([&] { (void)expand_words(ins.rest, vars, df.escape); });
      for (const auto& h : ins.heredocs) fuzz::reject([&] { (void)expand_heredoc(h.content, vars, df.escape); });
      for (const auto& f : ins.flags) fuzz::reject([&] { (void)expand_word(f, vars, df.escape); });
      // ONBUILD's trigger text is parsed again when a child image builds.
      if (ins.keyword == "onbuild")
        fuzz::reject([&] { (void)parse_instruction_line(ins.rest, df.escape, "ONBUILD"); });
    }
  });
  // The whole input as one `--change` line and as words.
  fuzz::reject([&] { (void)parse_instruction_line(in, '\\', "--change"); });
  fuzz::reject([&] { (void)split_words(in, '`'); });
  std::vector<std::string> strs;
  (void)parse_json_strings(in, &strs);
  return 0;
}
