// RUN --mount's parser (build/run_mounts.hpp): BuildKit's keys and
// defaults, and one clear refusal for each kind of bad value.
#include <gtest/gtest.h>

#include "build/run_mounts.hpp"
#include "common/error.hpp"

using namespace berth;
using namespace berth::build;

namespace {

std::string refusal(const std::string& value) {
  try {
    parse_run_mount(value, "/work");
  } catch (const Error& e) {
    return e.message();
  }
  return "accepted";
}

}  // namespace

TEST(RunMount, BindIsTheDefaultAndReadOnly) {
  auto m = parse_run_mount("target=/src,source=app", "/");
  EXPECT_EQ(m.type, "bind");
  EXPECT_EQ(m.target, "/src");
  EXPECT_EQ(m.source, "app");
  EXPECT_TRUE(m.read_only);
  EXPECT_FALSE(parse_run_mount("type=bind,dst=/src,rw", "/").read_only);
  EXPECT_FALSE(parse_run_mount("type=bind,destination=/src,readwrite=true", "/").read_only);
}

TEST(RunMount, CacheDefaultsItsIdToTheTargetAndIsWritable) {
  auto m = parse_run_mount("type=cache,target=go/cache,sharing=locked,mode=0700,uid=1000,gid=100", "/work");
  EXPECT_EQ(m.target, "/work/go/cache");  // relative to WORKDIR
  EXPECT_EQ(m.id, "/work/go/cache");
  EXPECT_EQ(m.sharing, "locked");
  EXPECT_FALSE(m.read_only);
  EXPECT_EQ(*m.mode, 0700u);
  EXPECT_EQ(*m.uid, 1000u);
  EXPECT_EQ(*m.gid, 100u);
  EXPECT_TRUE(parse_run_mount("type=cache,target=/c,ro", "/").read_only);
}

TEST(RunMount, SecretDefaults) {
  auto m = parse_run_mount("type=secret,id=tok", "/");
  EXPECT_EQ(m.target, "/run/secrets/tok");
  EXPECT_EQ(*m.mode, 0400u);
  EXPECT_TRUE(m.read_only);
  EXPECT_FALSE(m.required);
  auto t = parse_run_mount("type=secret,target=/etc/app.key,required", "/");
  EXPECT_EQ(t.id, "app.key");
  EXPECT_TRUE(t.required);
}

TEST(RunMount, TmpfsSize) {
  EXPECT_EQ(parse_run_mount("type=tmpfs,target=/t,size=64m", "/").size, 64 << 20);
  EXPECT_EQ(parse_run_mount("type=tmpfs,target=/t,size=4096", "/").size, 4096);
}

TEST(RunMount, BadInputIsOneClearRefusal) {
  EXPECT_EQ(refusal("type=cache,target=/x,bogus=1"), "--mount: unexpected key 'bogus' in 'bogus=1'");
  EXPECT_EQ(refusal("type=nope,target=/x"), "--mount type=nope: unknown mount type (bind, cache, tmpfs, secret)");
  EXPECT_EQ(refusal("type=tmpfs"), "--mount type=tmpfs: a target is required");
  EXPECT_EQ(refusal("type=secret"), "--mount type=secret needs an id (or a target)");
  EXPECT_EQ(refusal("type=cache,target=/x,sharing=sometimes"),
            "--mount sharing=sometimes: unknown sharing mode (shared, private, locked)");
  EXPECT_EQ(refusal("type=cache,target=/x,mode=0999"), "--mount mode=0999: not an octal mode");
  EXPECT_EQ(refusal("type=cache,target=/x,uid=me"), "--mount uid=me: not a number");
  // 2^32 cast to uid_t was 0: root.
  EXPECT_EQ(refusal("type=cache,target=/x,uid=4294967296"), "--mount uid=4294967296: out of range (below 4294967295)");
  EXPECT_EQ(refusal("type=secret,id=s,gid=9999999999"), "--mount gid=9999999999: out of range (below 4294967295)");
  EXPECT_EQ(refusal("type=bind,target=/x,ro=maybe"), "--mount ro=maybe: not a boolean (true or false)");
  EXPECT_EQ(refusal("type=tmpfs,target=/t,size=lots"), "--mount size=lots: not a number");
  EXPECT_EQ(refusal("type=cache,target=/x,size=1m"), "--mount size= is only for tmpfs");
  EXPECT_EQ(refusal("type=tmpfs,target=/t,from=stage"), "--mount type=tmpfs: from= is only for bind mounts");
  EXPECT_EQ(refusal("type=cache,target=/x,from=stage"),
            "--mount type=cache: from= and source= (a cache seeded from a stage) are not supported");
  EXPECT_EQ(refusal("type=ssh"), "--mount type=ssh is not supported (no SSH agent forwarding)");
  EXPECT_EQ(refusal("type=bind,target=/"), "--mount type=bind,target=/: the target cannot be /");
  EXPECT_EQ(refusal("type=bind,target"), "--mount target: target needs a value");
}
