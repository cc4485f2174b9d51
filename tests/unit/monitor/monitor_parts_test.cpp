// The monitor's parts that need no container: attach frames, the restart
// rules, the json-file log, its argv round trip, the runtime log reader.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "monitor/attach_frame.hpp"
#include "monitor/json_file_log.hpp"
#include "monitor/options.hpp"
#include "monitor/restart_policy.hpp"
#include "monitor/runtime_call.hpp"
#include "test_support.hpp"

using namespace berth;
using namespace berth::monitor;

TEST(AttachFrame, RoundTripsInPieces) {
  std::string bytes = encode_frame(Frame::Stdout, "hello") + encode_frame(Frame::Exit, "3");
  ASSERT_EQ(bytes.size(), 8u + 5 + 8 + 1);
  EXPECT_EQ(bytes[0], 1);  // docker's stdout stream id
  EXPECT_EQ(bytes[7], 5);
  FrameReader r;
  Frame t;
  std::string p;
  r.feed(bytes.data(), 3);  // a header split across reads
  EXPECT_FALSE(r.next(&t, &p));
  r.feed(bytes.data() + 3, bytes.size() - 3);
  ASSERT_TRUE(r.next(&t, &p));
  EXPECT_EQ(t, Frame::Stdout);
  EXPECT_EQ(p, "hello");
  ASSERT_TRUE(r.next(&t, &p));
  EXPECT_EQ(t, Frame::Exit);
  EXPECT_EQ(p, "3");
  EXPECT_FALSE(r.next(&t, &p));
}

TEST(AttachFrame, RefusesAHugeFrame) {
  std::string h = "\x01\0\0\0\xff\xff\xff\xff";
  h.resize(8);
  h[4] = h[5] = h[6] = h[7] = '\xff';
  FrameReader r;
  r.feed(h.data(), h.size());
  Frame t;
  std::string p;
  EXPECT_THROW(r.next(&t, &p), Error);
}

TEST(RestartPolicy, OnFailureCountsAndBacksOff) {
  RestartPolicy p("on-failure", 2);
  EXPECT_EQ(p.next(0, 5, 0, false), -1);  // success: no restart
  EXPECT_EQ(p.next(1, 5, 0, false), 100);
  EXPECT_EQ(p.next(1, 5, 1, false), 200);
  EXPECT_EQ(p.next(1, 5, 2, false), -1);  // the third failure is not retried
}

TEST(RestartPolicy, AlwaysResetsAfterALongRunAndStopsWhenStopped) {
  RestartPolicy p("always", 0);
  EXPECT_EQ(p.next(0, 5, 0, false), 100);
  EXPECT_EQ(p.next(0, 5, 1, false), 200);
  EXPECT_EQ(p.next(0, 5, 2, false), 400);
  EXPECT_EQ(p.next(0, 10000, 3, false), 100);  // ran 10 s: back to the start
  EXPECT_EQ(p.next(0, 5, 4, true), -1);
  RestartPolicy capped("unless-stopped", 0);
  int64_t d = 0;
  for (int i = 0; i < 30; ++i) d = capped.next(1, 1, i, false);
  EXPECT_EQ(d, 60000);
  RestartPolicy no("no", 0);
  EXPECT_EQ(no.next(1, 1, 0, false), -1);
  EXPECT_FALSE(RestartPolicy::valid("sometimes"));
}

TEST(JsonFileLog, AnyBytesMakeJsonAsDockersDriverWrites) {
  // Invalid UTF-8 passed through made a line no JSON reader takes: `logs`
  // dropped it. Docker writes each invalid byte as \ufffd.
  EXPECT_EQ(json_quote("caf\xe9 \xff\xfe!"), "\"caf\\ufffd \\ufffd\\ufffd!\"");
  EXPECT_EQ(json_quote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\"");
  EXPECT_EQ(json_quote("\xe2\x80\xa8"), "\"\\u2028\"");
  EXPECT_EQ(json_quote("\xef\xbf\xbd"), "\"\xef\xbf\xbd\"");  // a real U+FFFD stays itself
  for (std::string bytes : {std::string("\xc0\x80"), std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                            std::string("\xe2\x82"), std::string("a\0b\x01\x7f", 5)}) {
    auto j = nlohmann::json::parse(json_quote(bytes), nullptr, false);
    ASSERT_TRUE(j.is_string()) << json_quote(bytes);
  }
  EXPECT_EQ(nlohmann::json::parse(json_quote("\xc0\x80")).get<std::string>(), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong
}

TEST(JsonFileLog, WritesDockersLinesAndRotates) {
  berth::testing::TempDir dir;
  std::string path = dir / "c-json.log";
  {
    JsonFileLog log(path, 0, 1);  // no rotation
    log.write("stdout", "one\ntw");
    log.write("stdout", "o\n");
    log.write("stderr", "e\"rr\n");
    log.write("stdout", "tail without newline");
    log.flush();
  }
  std::string text = fs::read_file(path);
  std::vector<nlohmann::json> lines;
  size_t start = 0, nl;
  while ((nl = text.find('\n', start)) != std::string::npos) {
    lines.push_back(nlohmann::json::parse(text.substr(start, nl - start)));
    start = nl + 1;
  }
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["log"], "one\n");
  EXPECT_EQ(lines[1]["log"], "two\n");
  EXPECT_EQ(lines[2]["log"], "e\"rr\n");
  EXPECT_EQ(lines[2]["stream"], "stderr");
  EXPECT_EQ(lines[3]["log"], "tail without newline");
  EXPECT_EQ(lines[0]["time"].get<std::string>().size(), 30u);  // RFC 3339 with nanoseconds
  {
    JsonFileLog log(path, 300, 3);
    for (int i = 0; i < 20; ++i) log.write("stdout", "line " + std::to_string(i) + "\n");
  }
  EXPECT_TRUE(fs::exists(path + ".1"));
  EXPECT_TRUE(fs::exists(path + ".2"));
  EXPECT_FALSE(fs::exists(path + ".3"));  // max-file 3: the log and two rotated ones
  EXPECT_LE(fs::read_file(path).size(), 300u);
}

TEST(MonitorOptions, ArgvRoundTrips) {
  Options o;
  o.id = "abc";
  o.runtime = "/usr/sbin/runc";
  o.runtime_args = {"--root", "/run/x"};
  o.bundle = "/b";
  o.state_dir = "/s";
  o.log_path = "/l";
  o.status_path = "/st";
  o.tty = true;
  o.restart = "on-failure";
  o.max_retries = 3;
  o.exit_command = {"/bin/berth", "container", "cleanup", "abc"};
  o.health.test = {"CMD-SHELL", "true"};
  o.health.interval_ms = 500;
  auto argv = to_argv(o);
  std::vector<char*> a;
  for (auto& s : argv) a.push_back(s.data());
  Options back = parse(static_cast<int>(a.size()), a.data());
  EXPECT_EQ(back.runtime_args, o.runtime_args);
  EXPECT_TRUE(back.tty);
  EXPECT_EQ(back.restart, "on-failure");
  EXPECT_EQ(back.max_retries, 3);
  EXPECT_EQ(back.exit_command, o.exit_command);
  EXPECT_EQ(back.health.test, o.health.test);
  EXPECT_EQ(back.health.interval_ms, 500);
  std::vector<std::string> bad = {"berth-monitor", "--id", "x", "--bogus", "1"};
  std::vector<char*> b;
  for (auto& s : bad) b.push_back(s.data());
  EXPECT_THROW(parse(static_cast<int>(b.size()), b.data()), Error);
}

TEST(RuntimeCall, ReadsTheLastErrorOfAJsonLogAndMapsDockerCodes) {
  std::string log =
      "{\"level\":\"warning\",\"msg\":\"first\",\"time\":\"t\"}\n"
      "{\"level\":\"error\",\"msg\":\"exec: \\\"nope\\\": executable file not found in $PATH\",\"time\":\"t\"}\n";
  std::string m = last_log_message(log);
  EXPECT_EQ(m, "exec: \"nope\": executable file not found in $PATH");
  EXPECT_EQ(start_error_code(m), 127);
  EXPECT_EQ(start_error_code("exec /etc: permission denied"), 126);
  EXPECT_EQ(start_error_code("mount proc: EBUSY"), 125);
  EXPECT_EQ(last_log_message(""), "");
}
