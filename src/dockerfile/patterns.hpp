// Path patterns: Go's filepath.Match (COPY/ADD sources) and the
// .dockerignore rules of moby/patternmatcher. Pure.
//
// .dockerignore: one pattern a line; `#` lines and blank lines skipped;
// surrounding blanks trimmed; a leading `!` makes an exception; patterns
// are cleaned like Go's filepath.Clean and a leading `/` dropped. `*` and
// `?` do not cross `/`, `**` crosses any number of directories (also none),
// `[a-z]`/`[^a]` are classes, `\` escapes. A path is excluded when the last
// pattern that matches it, or one of its parent directories, is not an
// exception.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::dockerfile {

// `*`, `?`, `[...]`, `\x`; with `double_star`, `**` spans directories.
// False (never an exception) for a malformed pattern.
bool glob_match(std::string_view pattern, std::string_view path, bool double_star = false);
bool has_glob(std::string_view s);

// Go's filepath.Clean for relative slash paths ("" and "/" give ".").
std::string clean_path(std::string_view p);

class IgnoreRules {
 public:
  IgnoreRules() = default;
  static IgnoreRules parse(std::string_view dockerignore);
  // `rel` is a cleaned path relative to the context root ("a/b.txt").
  bool excluded(std::string_view rel) const;
  // Some exception could re-include something under dir `rel`: then an
  // excluded directory must still be walked.
  bool may_include_below(std::string_view rel) const;
  bool empty() const { return rules_.empty(); }

 private:
  struct Rule {
    std::string pattern;
    bool exception = false;
    size_t depth = 0;  // path components
  };
  std::vector<Rule> rules_;
};

}  // namespace berth::dockerfile
