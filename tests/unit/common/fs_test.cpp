#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/sqlite.hpp"
#include "test_support.hpp"

namespace fs = berth::fs;

TEST(Fs, AtomicWriteReplacesWholeFile) {
  berth::testing::TempDir dir;
  std::string p = dir / "a/b/c.json";
  fs::mkdir_p(dir / "a/b");
  fs::write_file_atomic(p, "old");
  fs::write_file_atomic(p, "new content");
  EXPECT_EQ(fs::read_file(p), "new content");
}

TEST(Fs, ReadMissingFileNamesPath) {
  try {
    fs::read_file("/nonexistent/berth");
    FAIL();
  } catch (berth::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/berth"), std::string::npos);
    EXPECT_EQ(e.kind(), berth::ErrorKind::NotFound);
  }
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  berth::testing::TempDir dir;
  berth::Database db(dir / "t.db");
  db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)");
  {
    berth::Transaction tx(db);
    db.prepare("INSERT INTO t VALUES (?, ?)").bind(1, "a").bind(2, int64_t{1}).run();
  }
  EXPECT_FALSE(db.prepare("SELECT v FROM t").step());
  {
    berth::Transaction tx(db);
    db.prepare("INSERT INTO t VALUES (?, ?)").bind(1, "a").bind(2, int64_t{7}).run();
    tx.commit();
  }
  auto st = db.prepare("SELECT v FROM t WHERE k = ?");
  st.bind(1, "a");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.integer(0), 7);
  EXPECT_THROW(db.prepare("INSERT INTO t VALUES ('a', 2)").run(), berth::Error);
}
