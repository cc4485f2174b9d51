// Bearer tokens kept across commands (registry/token_cache.hpp): stored and
// found by host and key, expired ones dropped, files others could read
// ignored, modes 0600/0700, logout's forget.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>
#include <filesystem>

#include "common/fs.hpp"
#include "registry/token_cache.hpp"

using namespace berth;
using namespace berth::registry;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/token-cache-test-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

int64_t now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string only_file(const std::string& dir) {
  std::string f;
  for (auto& e : std::filesystem::directory_iterator(dir)) f = e.path();
  return f;
}

}  // namespace

TEST(TokenCache, StoresAndFindsByHostAndKey) {
  TempDir t;
  TokenCache c(t.path + "/tokens");
  c.store("127.0.0.1:5000", "realm\nsvc\nrepository:a:pull\nalice", {"tok-a", now() + 100});
  auto e = c.load("127.0.0.1:5000", "realm\nsvc\nrepository:a:pull\nalice");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->token, "tok-a");
  EXPECT_FALSE(c.load("127.0.0.1:5000", "realm\nsvc\nrepository:a:pull\nbob"));
  EXPECT_FALSE(c.load("127.0.0.1:5001", "realm\nsvc\nrepository:a:pull\nalice"));
}

TEST(TokenCache, ModesArePrivate) {
  TempDir t;
  TokenCache c(t.path + "/tokens");
  c.store("h:1", "k", {"tok", now() + 100});
  struct stat st;
  ASSERT_EQ(::stat((t.path + "/tokens").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((t.path + "/tokens/h_1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::string f = only_file(t.path + "/tokens/h_1");
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(TokenCache, ExpiredIsDroppedAndReadableByOthersIgnored) {
  TempDir t;
  TokenCache c(t.path);
  c.store("h", "old", {"tok", now() - 1});
  EXPECT_FALSE(c.load("h", "old"));
  EXPECT_TRUE(std::filesystem::is_empty(t.path + "/h"));  // the expired file went
  c.store("h", "k", {"tok", now() + 100});
  ASSERT_EQ(::chmod(only_file(t.path + "/h").c_str(), 0644), 0);
  EXPECT_FALSE(c.load("h", "k"));
}

TEST(TokenCache, ForgetRemovesAHostsTokensOnly) {
  TempDir t;
  TokenCache c(t.path);
  c.store("a", "k", {"ta", now() + 100});
  c.store("b", "k", {"tb", now() + 100});
  c.forget("a");
  EXPECT_FALSE(c.load("a", "k"));
  EXPECT_TRUE(c.load("b", "k"));
}

TEST(TokenCache, DisabledStoresNothing) {
  TokenCache c("");
  EXPECT_FALSE(c.enabled());
  c.store("h", "k", {"t", now() + 100});
  EXPECT_FALSE(c.load("h", "k"));
}
