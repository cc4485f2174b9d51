#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "image/content_store.hpp"
#include "test_support.hpp"

using berth::image::ContentStore;

TEST(ContentStore, PutVerifyReadAndRefuseMismatch) {
  berth::testing::TempDir t;
  ContentStore cs(t.path());
  std::string d = cs.put("hello");
  EXPECT_EQ(d, berth::sha256_digest("hello"));
  EXPECT_TRUE(cs.has(d));
  EXPECT_EQ(cs.read(d), "hello");
  EXPECT_EQ(cs.size(d), 5);
  std::string wrong = berth::sha256_digest("other");
  try {
    cs.put("hello", wrong);
    FAIL() << "mismatch accepted";
  } catch (const berth::Error& e) {
    EXPECT_EQ(e.kind(), berth::ErrorKind::Corrupt);
    EXPECT_NE(std::string(e.what()).find(wrong), std::string::npos);
  }
  EXPECT_FALSE(cs.has(wrong));
  // Nothing left in ingest.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(t / "content/ingest"), {}), 0);
}

TEST(ContentStore, DetectsCorruptionOnRead) {
  berth::testing::TempDir t;
  ContentStore cs(t.path());
  std::string d = cs.put("some content");
  std::string p = cs.path(d);
  ::chmod(p.c_str(), 0644);
  berth::fs::write_file(p, "some contenT");
  try {
    cs.verify(d);
    FAIL();
  } catch (const berth::Error& e) {
    EXPECT_EQ(e.kind(), berth::ErrorKind::Corrupt);
    EXPECT_NE(std::string(e.what()).find(d), std::string::npos);
  }
  EXPECT_THROW(cs.read(d), berth::Error);
}

TEST(ContentStore, ConcurrentWritersOfSameBlob) {
  berth::testing::TempDir t;
  ContentStore cs(t.path());
  std::string big(3 << 20, 'x');
  std::vector<std::thread> th;
  for (int i = 0; i < 8; ++i) th.emplace_back([&] { cs.put(big); });
  for (auto& x : th) x.join();
  EXPECT_EQ(cs.list().size(), 1u);
  cs.verify(berth::sha256_digest(big));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(t / "content/ingest"), {}), 0);
}

TEST(ContentStore, AbandonedWriterLeavesNothing) {
  berth::testing::TempDir t;
  ContentStore cs(t.path());
  {
    auto w = cs.writer();
    w.write("partial");
  }
  EXPECT_TRUE(cs.list().empty());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(t / "content/ingest"), {}), 0);
}

TEST(ContentStore, StaleIngestSweepSparesLiveWriters) {
  berth::testing::TempDir t;
  ContentStore cs(t.path());
  // A writer that dies mid-blob (no destructor runs): its file stays behind.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto w = cs.writer();
    w.write(std::string(3 << 20, 'd'));
    w.finish();
    ::_exit(0);
  }
  ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);
  auto live = cs.writer();
  live.write("in flight");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(t / "content/ingest"), {}), 2);
  EXPECT_EQ(cs.remove_stale_ingest(), 3 << 20);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(t / "content/ingest"), {}), 1);
  std::string d = live.finish();
  live.commit();
  EXPECT_EQ(cs.read(d), "in flight");
  EXPECT_EQ(cs.remove_stale_ingest(), 0);
}
