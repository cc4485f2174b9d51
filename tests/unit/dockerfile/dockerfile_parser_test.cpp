#include <gtest/gtest.h>

#include "dockerfile/dockerfile.hpp"
#include "common/error.hpp"

using berth::dockerfile::Dockerfile;
using berth::dockerfile::parse_dockerfile;
using V = std::vector<std::string>;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_dockerfile(text, "Dockerfile");
  } catch (const berth::Error& e) {
    EXPECT_EQ(e.kind(), berth::ErrorKind::InvalidArgument);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(DockerfileParser, InstructionsCaseCommentsAndLines) {
  auto df = parse_dockerfile(
      "# a comment\n"
      "\n"
      "from busybox AS base\n"
      "  # indented comment\n"
      "RUN echo hi\n"
      "Cmd [\"sh\", \"-c\", \"echo $HOME\"]\n");
  ASSERT_EQ(df.instructions.size(), 3u);
  EXPECT_EQ(df.instructions[0].keyword, "from");
  EXPECT_EQ(df.instructions[0].args, (V{"busybox", "AS", "base"}));
  EXPECT_EQ(df.instructions[0].line, 3);
  EXPECT_EQ(df.instructions[1].keyword, "run");
  EXPECT_FALSE(df.instructions[1].json);
  EXPECT_EQ(df.instructions[1].args, (V{"echo hi"}));
  EXPECT_EQ(df.instructions[1].line, 5);
  EXPECT_TRUE(df.instructions[2].json);
  EXPECT_EQ(df.instructions[2].args, (V{"sh", "-c", "echo $HOME"}));
}

TEST(DockerfileParser, ContinuationsSkipCommentsAndWarnOnEmptyLines) {
  auto df = parse_dockerfile(
      "FROM scratch\n"
      "RUN echo a \\\n"
      "# inside\n"
      "  && echo b \\   \n"
      "\n"
      "  && echo c\n"
      "LABEL x=1\n");
  ASSERT_EQ(df.instructions.size(), 3u);
  EXPECT_EQ(df.instructions[1].args, (V{"echo a   && echo b   && echo c"}));
  EXPECT_EQ(df.instructions[1].line, 2);
  EXPECT_EQ(df.instructions[2].line, 7);
  ASSERT_EQ(df.warnings.size(), 1u);
  EXPECT_NE(df.warnings[0].find("Dockerfile:5"), std::string::npos);
}

TEST(DockerfileParser, EscapeDirectiveBacktick) {
  auto df = parse_dockerfile(
      "# escape=`\n"
      "# syntax=docker/dockerfile:1\n"
      "FROM scratch\n"
      "COPY c:\\dir\\ `\n"
      "   d:\\x\n");
  EXPECT_EQ(df.escape, '`');
  EXPECT_EQ(df.syntax, "docker/dockerfile:1");
  ASSERT_EQ(df.instructions.size(), 2u);
  EXPECT_EQ(df.instructions[1].args, (V{"c:\\dir\\", "d:\\x"}));
}

TEST(DockerfileParser, DirectivesOnlyAtTheTop) {
  // After a comment, "# escape=`" is just a comment.
  auto df = parse_dockerfile("# hello\n# escape=`\nFROM scratch\nRUN a \\\n b\n");
  EXPECT_EQ(df.escape, '\\');
  EXPECT_EQ(df.instructions[1].args, (V{"a  b"}));
  // An unknown directive is a comment and ends them.
  df = parse_dockerfile("# foo=bar\n# escape=`\nFROM scratch\n");
  EXPECT_EQ(df.escape, '\\');
  EXPECT_NE(error_of("# escape=x\nFROM scratch\n").find("Dockerfile:1: invalid escape token"), std::string::npos);
  EXPECT_NE(error_of("# escape=`\n# escape=\\\nFROM scratch\n").find("Dockerfile:2: only one escape"),
            std::string::npos);
}

TEST(DockerfileParser, FlagsAreSplitOff) {
  auto df = parse_dockerfile(
      "FROM --platform=linux/amd64 busybox AS b\n"
      "COPY --from=b --chown=1:2 --chmod=640 /a /b/\n"
      "RUN --network=none echo hi\n"
      "COPY --chown=\"a b\" x y\n");
  EXPECT_EQ(df.instructions[0].flags, (V{"--platform=linux/amd64"}));
  EXPECT_EQ(df.instructions[0].args, (V{"busybox", "AS", "b"}));
  EXPECT_EQ(df.instructions[1].flags, (V{"--from=b", "--chown=1:2", "--chmod=640"}));
  EXPECT_EQ(df.instructions[1].args, (V{"/a", "/b/"}));
  EXPECT_EQ(df.instructions[2].flags, (V{"--network=none"}));
  EXPECT_EQ(df.instructions[2].args, (V{"echo hi"}));
  EXPECT_EQ(df.instructions[3].flags, (V{"--chown=\"a b\""}));
  EXPECT_EQ(df.instructions[3].args, (V{"x", "y"}));
}

TEST(DockerfileParser, EnvAndLabelForms) {
  auto df = parse_dockerfile(
      "FROM scratch\n"
      "ENV A=1 B=\"two words\" C=three\\ words\n"
      "ENV OLD value with  spaces\n"
      "LABEL \"com.x\"=\"y z\" k=v\n");
  EXPECT_EQ(df.instructions[1].args, (V{"A", "1", "B", "\"two words\"", "C", "three\\ words"}));
  EXPECT_EQ(df.instructions[2].args, (V{"OLD", "value with  spaces"}));
  EXPECT_EQ(df.instructions[3].args, (V{"\"com.x\"", "\"y z\"", "k", "v"}));
  EXPECT_NE(error_of("FROM scratch\nENV A=1 B\n").find("Dockerfile:2: Syntax error - can't find = in \"B\""),
            std::string::npos);
  EXPECT_NE(error_of("FROM scratch\nENV =1\n").find("Dockerfile:2: ENV names can not be blank"), std::string::npos);
  EXPECT_NE(error_of("FROM scratch\nENV ONLY\n").find("ENV must have two arguments"), std::string::npos);
}

TEST(DockerfileParser, JsonAndShellForms) {
  auto df = parse_dockerfile(
      "FROM scratch\n"
      "RUN [ -f /x ] && echo yes\n"
      "RUN [ -f /x ]\n"
      "ENTRYPOINT [\"/bin/app\", \"--flag=\\\"q\\\"\"]\n"
      "CMD []\n"
      "VOLUME [\"/a\", \"/b\"]\n"
      "VOLUME /c /d\n"
      "SHELL [\"/bin/sh\", \"-ec\"]\n");
  EXPECT_FALSE(df.instructions[1].json);
  EXPECT_FALSE(df.instructions[2].json);  // a shell test command, not JSON
  EXPECT_EQ(df.instructions[2].args, (V{"[ -f /x ]"}));
  EXPECT_TRUE(df.instructions[3].json);
  EXPECT_EQ(df.instructions[3].args, (V{"/bin/app", "--flag=\"q\""}));
  EXPECT_TRUE(df.instructions[4].json);
  EXPECT_TRUE(df.instructions[4].args.empty());
  EXPECT_EQ(df.instructions[5].args, (V{"/a", "/b"}));
  EXPECT_EQ(df.instructions[6].args, (V{"/c", "/d"}));
  EXPECT_EQ(df.instructions[7].args, (V{"/bin/sh", "-ec"}));
}

TEST(DockerfileParser, ErrorsNameFileAndLine) {
  EXPECT_EQ(error_of("FROM scratch\n\nFROBNICATE x\n"), "Dockerfile:3: unknown instruction: FROBNICATE");
  EXPECT_NE(error_of("FROM scratch\nCMD [\"a\", 'b']\n").find("Dockerfile:2: bad JSON in the exec form of CMD"),
            std::string::npos);
  EXPECT_NE(error_of("FROM scratch\nSHELL /bin/sh -c\n").find("Dockerfile:2: SHELL requires the arguments to be in JSON form"),
            std::string::npos);
  EXPECT_NE(error_of("FROM scratch\nRUN\n").find("Dockerfile:2: RUN requires at least one argument"), std::string::npos);
  EXPECT_NE(error_of("FROM scratch\nONBUILD ONBUILD RUN x\n").find("Dockerfile:2: chaining ONBUILD"), std::string::npos);
  EXPECT_NE(error_of("FROM scratch\nONBUILD FROM x\n").find("FROM isn't allowed as an ONBUILD trigger"),
            std::string::npos);
  EXPECT_NE(error_of("FROM scratch\nONBUILD BOGUS x\n").find("unknown instruction: BOGUS"), std::string::npos);
  EXPECT_NE(error_of("FROM scratch\nHEALTHCHECK FOO x\n").find("Dockerfile:2: unknown type \"FOO\" in HEALTHCHECK"),
            std::string::npos);
  EXPECT_NE(error_of("FROM scratch\nRUN <<EOF\necho\n").find("Dockerfile:2: heredoc EOF has no terminating line"),
            std::string::npos);
}

TEST(DockerfileParser, Heredocs) {
  auto df = parse_dockerfile(
      "FROM scratch\n"
      "RUN <<EOF\n"
      "echo $HOME\n"
      "  indented\n"
      "EOF\n"
      "COPY <<-\"A\" <<'B' /dst/\n"
      "\tone\n"
      "\tA\n"
      "two $X\n"
      "B\n"
      "RUN cat <<X > /f && echo done\n"
      "body\n"
      "X\n"
      "CMD x\n");
  ASSERT_EQ(df.instructions.size(), 5u);
  auto& run = df.instructions[1];
  ASSERT_EQ(run.heredocs.size(), 1u);
  EXPECT_EQ(run.heredocs[0].name, "EOF");
  EXPECT_EQ(run.heredocs[0].content, "echo $HOME\n  indented\n");
  EXPECT_TRUE(run.heredocs[0].expand);
  auto& copy = df.instructions[2];
  ASSERT_EQ(copy.heredocs.size(), 2u);
  EXPECT_EQ(copy.heredocs[0].content, "one\n");
  EXPECT_TRUE(copy.heredocs[0].strip_tabs);
  EXPECT_FALSE(copy.heredocs[0].expand);
  EXPECT_EQ(copy.heredocs[1].name, "B");
  EXPECT_EQ(copy.heredocs[1].content, "two $X\n");
  EXPECT_EQ(copy.args, (V{"<<-\"A\"", "<<'B'", "/dst/"}));
  EXPECT_EQ(df.instructions[3].heredocs[0].content, "body\n");
  EXPECT_EQ(df.instructions[3].args, (V{"cat <<X > /f && echo done"}));
  EXPECT_EQ(df.instructions[4].keyword, "cmd");
  EXPECT_EQ(df.instructions[4].line, 14);
  // a quoted "<<EOF" is not a heredoc
  df = parse_dockerfile("FROM scratch\nRUN echo \"<<EOF\"\n");
  EXPECT_TRUE(df.instructions[1].heredocs.empty());
}

TEST(DockerfileParser, HealthcheckOnbuildMaintainerArg) {
  auto df = parse_dockerfile(
      "ARG V=1\n"
      "FROM scratch\n"
      "HEALTHCHECK --interval=5s --retries=2 CMD [\"/bin/check\", \"-q\"]\n"
      "HEALTHCHECK CMD curl -f http://localhost/ || exit 1\n"
      "HEALTHCHECK NONE\n"
      "ONBUILD RUN echo child\n"
      "MAINTAINER Jane Doe <jane@example.com>\n"
      "ARG A B=2\n");
  EXPECT_EQ(df.instructions[0].args, (V{"V=1"}));
  EXPECT_EQ(df.instructions[2].flags, (V{"--interval=5s", "--retries=2"}));
  EXPECT_EQ(df.instructions[2].args, (V{"CMD", "/bin/check", "-q"}));
  EXPECT_TRUE(df.instructions[2].json);
  EXPECT_EQ(df.instructions[3].args, (V{"CMD", "curl -f http://localhost/ || exit 1"}));
  EXPECT_FALSE(df.instructions[3].json);
  EXPECT_EQ(df.instructions[4].args, (V{"NONE"}));
  EXPECT_EQ(df.instructions[5].args, (V{"RUN echo child"}));
  EXPECT_EQ(df.instructions[6].args, (V{"Jane Doe <jane@example.com>"}));
  EXPECT_EQ(df.instructions[7].args, (V{"A", "B=2"}));
}

TEST(DockerfileParser, CrlfBomAndNoTrailingNewline) {
  auto df = parse_dockerfile("\xEF\xBB\xBF" "FROM scratch\r\nRUN a \\\r\n b\r\nCMD x");
  ASSERT_EQ(df.instructions.size(), 3u);
  EXPECT_EQ(df.instructions[1].args, (V{"a  b"}));
  EXPECT_EQ(df.instructions[2].args, (V{"x"}));
}

TEST(DockerfileParser, SplitWordsKeepsQuotesAndEscapes) {
  EXPECT_EQ(berth::dockerfile::split_words("a \"b c\" 'd e'  f\\ g", '\\'), (V{"a", "\"b c\"", "'d e'", "f\\ g"}));
  EXPECT_EQ(berth::dockerfile::split_words("  ", '\\'), V{});
}
