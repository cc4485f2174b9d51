// Database: the WAL of a database opened by one short process after
// another stays short (common/sqlite.cpp, checkpoint_when_long).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/fs.hpp"
#include "common/sqlite.hpp"

namespace berth {
namespace {

off_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

class SqliteWal : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-sqlite-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/test.db";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_, path_;
};

// Each connection is a `berth` command: it opens the database, writes a
// row and closes it, the only one on the database. Before the fix the
// WAL grew by every write (2 pages each here) and never restarted.
TEST_F(SqliteWal, StaysShortWhenEachWriterIsAFreshProcessConnection) {
  {
    Database db(path_);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  }
  const std::string payload(3000, 'x');  // about a page a row
  off_t longest = 0;
  for (int i = 0; i < 400; ++i) {
    Database db(path_);
    db.prepare("INSERT INTO t (v) VALUES (?)").bind(1, payload).run();
    longest = std::max(longest, file_size(path_ + "-wal"));
  }
  // 64 frames of 4 KiB + 24 bytes, and the commit that crossed them.
  EXPECT_LE(longest, 70 * (4096 + 24) + 32);
  Database db(path_);
  auto st = db.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.integer(0), 400);  // nothing lost on the way
}

// A reader that keeps an old snapshot open does not stall a writer: the
// truncating checkpoint gives up (after a short wait) and the write stands.
TEST_F(SqliteWal, ALongReaderDoesNotStallWriters) {
  {
    Database db(path_);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  }
  Database reader(path_);
  reader.exec("BEGIN");
  auto r = reader.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(r.step());
  const std::string payload(3000, 'x');
  for (int i = 0; i < 100; ++i) {
    Database db(path_);
    db.prepare("INSERT INTO t (v) VALUES (?)").bind(1, payload).run();
  }
  r.reset();
  reader.exec("COMMIT");
  Database db(path_);
  auto st = db.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.integer(0), 100);
}

}  // namespace
}  // namespace berth
