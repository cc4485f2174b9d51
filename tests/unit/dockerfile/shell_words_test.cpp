#include <gtest/gtest.h>

#include "dockerfile/patterns.hpp"
#include "dockerfile/shell_words.hpp"
#include "common/error.hpp"

using namespace berth::dockerfile;
using V = std::vector<std::string>;

namespace {
const Vars kVars = {{"A", "apple"}, {"E", ""}, {"SP", "x  y"}, {"P", "/usr/local"}};
}

TEST(ShellWords, Substitution) {
  EXPECT_EQ(expand_word("$A", kVars), "apple");
  EXPECT_EQ(expand_word("${A}pie", kVars), "applepie");
  EXPECT_EQ(expand_word("$Apie", kVars), "");  // the name is "Apie"
  EXPECT_EQ(expand_word("${UNSET:-dflt}", kVars), "dflt");
  EXPECT_EQ(expand_word("${E:-dflt}", kVars), "dflt");
  EXPECT_EQ(expand_word("${E-dflt}", kVars), "");
  EXPECT_EQ(expand_word("${UNSET-dflt}", kVars), "dflt");
  EXPECT_EQ(expand_word("${A:+alt}", kVars), "alt");
  EXPECT_EQ(expand_word("${E:+alt}", kVars), "");
  EXPECT_EQ(expand_word("${E+alt}", kVars), "alt");
  EXPECT_EQ(expand_word("${UNSET:-${A}-x}", kVars), "apple-x");
  EXPECT_EQ(expand_word("${UNSET:-\"a b\"}", kVars), "a b");
  EXPECT_EQ(expand_word("$", kVars), "$");
  EXPECT_EQ(expand_word("a$-b", kVars), "a$-b");
  EXPECT_EQ(expand_word("$P/bin", kVars), "/usr/local/bin");
}

TEST(ShellWords, QuotesAndEscapes) {
  EXPECT_EQ(expand_word("'$A'", kVars), "$A");
  EXPECT_EQ(expand_word("\"$A\"", kVars), "apple");
  EXPECT_EQ(expand_word("\\$A", kVars), "$A");
  EXPECT_EQ(expand_word("\"\\$A\"", kVars), "$A");
  EXPECT_EQ(expand_word("\"a\\\"b\"", kVars), "a\"b");
  EXPECT_EQ(expand_word("\"a\\nb\"", kVars), "a\\nb");  // other escapes stay in double quotes
  EXPECT_EQ(expand_word("a\\nb", kVars), "anb");          // and go outside them
  EXPECT_EQ(expand_word("it'\"'s", kVars), "it\"s");
  EXPECT_EQ(expand_word("`$A", kVars, '`'), "$A");
  EXPECT_EQ(expand_word("c:\\dir", kVars, '`'), "c:\\dir");
}

TEST(ShellWords, WordsSplitOnUnquotedBlanks) {
  EXPECT_EQ(expand_words("a $SP \"$SP\" ''", kVars), (V{"a", "x", "y", "x  y", ""}));
  EXPECT_EQ(expand_words("  one\\ two  ", kVars), (V{"one two"}));
}

TEST(ShellWords, Errors) {
  for (const char* bad : {"${A", "${A:-x", "${A%x}", "'open", "\"open", "${}"}) {
    try {
      expand_word(bad, kVars);
      ADD_FAILURE() << bad << " accepted";
    } catch (const berth::Error& e) {
      EXPECT_EQ(e.kind(), berth::ErrorKind::InvalidArgument) << bad;
    }
  }
  try {
    expand_word("${UNSET:?must be set}", kVars);
    ADD_FAILURE();
  } catch (const berth::Error& e) {
    EXPECT_STREQ(e.what(), "UNSET: must be set");
  }
  EXPECT_EQ(expand_word("${A:?x}", kVars), "apple");
}

TEST(ShellWords, Heredoc) {
  EXPECT_EQ(expand_heredoc("echo \"$A\" '${A}' \\$A\n", kVars), "echo \"apple\" 'apple' $A\n");
}

TEST(Patterns, GlobLikeGo) {
  EXPECT_TRUE(glob_match("*.txt", "a.txt"));
  EXPECT_FALSE(glob_match("*.txt", "d/a.txt"));
  EXPECT_TRUE(glob_match("d/*.txt", "d/a.txt"));
  EXPECT_TRUE(glob_match("?.txt", "a.txt"));
  EXPECT_FALSE(glob_match("?.txt", "ab.txt"));
  EXPECT_TRUE(glob_match("[a-c]x", "bx"));
  EXPECT_FALSE(glob_match("[^a-c]x", "bx"));
  EXPECT_TRUE(glob_match("[!a-c]x", "dx"));
  EXPECT_TRUE(glob_match("\\*", "*"));
  EXPECT_FALSE(glob_match("\\*", "a"));
  EXPECT_FALSE(glob_match("[]", "a"));
  EXPECT_TRUE(glob_match("**", "a/b/c", true));
  EXPECT_TRUE(glob_match("**/x", "x", true));
  EXPECT_TRUE(glob_match("**/x", "a/b/x", true));
  EXPECT_FALSE(glob_match("**/x", "a/bx", true));
  EXPECT_TRUE(glob_match("a/**/b", "a/b", true));
  EXPECT_TRUE(glob_match("a/**/b", "a/1/2/b", true));
  EXPECT_TRUE(glob_match("a/**", "a/1/2", true));
  EXPECT_EQ(clean_path("./a//b/../c/"), "a/c");
  EXPECT_EQ(clean_path("../../a"), "../../a");
  EXPECT_EQ(clean_path("/../a"), "/a");
  EXPECT_EQ(clean_path(""), ".");
}

TEST(Patterns, DockerignoreRules) {
  auto r = IgnoreRules::parse(
      "# comment\n"
      "\n"
      "  *.log  \n"
      "/build\n"
      "**/*.tmp\n"
      "docs\n"
      "!docs/keep.md\n"
      "secret*\n"
      "!secret.pub\n"
      "./dir/../other/x\n");
  EXPECT_TRUE(r.excluded("a.log"));
  EXPECT_FALSE(r.excluded("sub/a.log"));  // "*" does not cross directories
  EXPECT_TRUE(r.excluded("build"));
  EXPECT_TRUE(r.excluded("build/out/bin"));  // a parent matches
  EXPECT_TRUE(r.excluded("x.tmp"));
  EXPECT_TRUE(r.excluded("a/b/c.tmp"));
  EXPECT_TRUE(r.excluded("docs/a.md"));
  EXPECT_FALSE(r.excluded("docs/keep.md"));
  EXPECT_TRUE(r.excluded("secret.key"));
  EXPECT_FALSE(r.excluded("secret.pub"));
  EXPECT_TRUE(r.excluded("other/x"));
  EXPECT_FALSE(r.excluded("src/main.c"));
  EXPECT_TRUE(r.may_include_below("docs"));
  // the last matching rule wins
  auto last = IgnoreRules::parse("!a\na\n");
  EXPECT_TRUE(last.excluded("a"));
  EXPECT_FALSE(IgnoreRules::parse("a\n!a\n").excluded("a"));
}
