// glob_match on patterns of many stars (dockerfile/patterns.cpp): the
// backtracking took exponential time before failed (pattern, path) pairs
// were remembered; the fuzz target dockerignore hung on such a
// .dockerignore line. Each of these returned only after minutes before.
#include <gtest/gtest.h>

#include <string>

#include "dockerfile/patterns.hpp"

using namespace berth::dockerfile;

TEST(GlobMatch, ManyStarsStillMatchAsBefore) {
  std::string stars(40, '*');
  std::string name(60, 'a');
  EXPECT_FALSE(glob_match(stars + "b", name));
  EXPECT_FALSE(glob_match(stars + "b", name, true));
  EXPECT_TRUE(glob_match(stars + "a", name));
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
  EXPECT_TRUE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*a", name));
  EXPECT_FALSE(glob_match(stars + "/x", "d/" + name, true));
  EXPECT_TRUE(glob_match("**/**/**/**/**/**/**/x", "a/b/c/d/x", true));
  EXPECT_FALSE(glob_match("**/**/**/**/**/**/**/y", "a/b/c/d/e/f/g/h/i/j/x", true));
  EXPECT_FALSE(glob_match("*", "a/b"));  // a star never crosses a slash
}

TEST(GlobMatch, ADockerignoreOfStarsIsAnsweredNow) {
  auto rules = IgnoreRules::parse(std::string(30, '*') + "]*****/x\n" + std::string(31, '*') + "uild\n");  // an odd count: the last star takes the "b"
  EXPECT_TRUE(rules.excluded("build"));
  EXPECT_FALSE(rules.excluded(std::string(50, 'z') + "/y"));
}
