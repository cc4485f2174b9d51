// What `load` must hold to whatever the store already has: every blob is
// checked against the digest that names it, nested indexes are followed
// (to a depth), and what killed loads left in ingest/ is collected without
// touching a load in flight.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "image/image_store.hpp"
#include "test_support.hpp"
#include "unit/image/image_fixtures.hpp"

using namespace berth;
using namespace berth::image;
using berth::testing::count_entries;
using berth::testing::docker_archive;
using berth::testing::expect_error;
using berth::testing::LayerBlob;
using berth::testing::plain_layer;
using berth::testing::TarBuilder;
using berth::testing::TempDir;

namespace {

LayerBlob gzip_layer(const std::string& name, const std::string& data) {
  return berth::testing::gzip_layer(TarBuilder().file(name, data).finish());
}

// Feeds all but the last `keep_back` bytes of `archive` to a load in a child
// process, waits until the load has a blob in ingest/, then SIGKILLs it:
// what `kill -9` or the OOM killer does to `berth load`.
void killed_load(const std::string& root, const std::string& archive, size_t keep_back) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(p[1]);
    try {
      ImageStore(root).load_fd(p[0], "stdin");
    } catch (...) {
    }
    ::_exit(0);
  }
  ::close(p[0]);
  size_t n = archive.size() - keep_back;
  for (size_t off = 0; off < n;) {
    ssize_t w = ::write(p[1], archive.data() + off, n - off);
    ASSERT_GT(w, 0);
    off += static_cast<size_t>(w);
  }
  std::string ingest = root + "/content/ingest";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (count_entries(ingest) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(p[1]);
  ASSERT_EQ(count_entries(ingest), 1u) << "the killed load left no ingest file to collect";
}

// A docker-archive whose one layer is bigger than what a load keeps in
// memory, so it streams through ingest/.
std::string big_archive(const std::string& tag) {
  return docker_archive(tag, {plain_layer(TarBuilder().file("big", std::string(6 << 20, 'b')).finish())});
}

}  // namespace

TEST(ImageLoad, LayerBlobIsCheckedAgainstItsDiffIdWhenTheLayerIsAlreadyUnpacked) {
  TempDir t;
  std::string honest = TarBuilder().file("f", "honest").finish();
  std::string forged = TarBuilder().file("f", "forged").finish();
  // Same config as the honest image (so the same image ID), other layer bytes.
  fs::write_file(t / "honest.tar", docker_archive("test/honest:1", {plain_layer(honest)}));
  fs::write_file(t / "forged.tar", docker_archive("test/forged:1", {{forged, sha256_digest(honest)}}));
  ImageStore store(t / "root");
  auto img = store.load(t / "honest.tar").at(0);

  Error e = expect_error([&] { store.load(t / "forged.tar"); });
  EXPECT_EQ(e.kind(), ErrorKind::Corrupt) << e.what();
  EXPECT_NE(std::string(e.what()).find(sha256_digest(honest)), std::string::npos) << e.what();
  EXPECT_FALSE(store.find("test/forged:1").has_value());
  EXPECT_FALSE(store.content().has(sha256_digest(forged)));
  // The honest image still points at its own layer, so it saves honestly.
  EXPECT_EQ(store.resolve("test/honest:1").manifest_digest, img.manifest_digest);
  std::string out = t / "saved.tar";
  {
    UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    store.save({"test/honest:1"}, "docker-archive", fd.get());
  }
  ImageStore other(t / "other");
  auto again = other.load(out).at(0);
  EXPECT_EQ(fs::read_file(other.layer_dir(other.chain_ids(again)[0]) + "/f"), "honest");
}

TEST(ImageLoad, CompressedLayerBlobIsCheckedWhenTheLayerIsAlreadyUnpacked) {
  TempDir t;
  LayerBlob honest = gzip_layer("f", "honest");
  LayerBlob forged = gzip_layer("f", "forged");
  forged.diff_id = honest.diff_id;
  berth::testing::write_oci_layout(t / "honest", "test/honest:1", {honest});
  berth::testing::write_oci_layout(t / "forged", "test/forged:1", {forged}, "other");
  ImageStore store(t / "root");
  store.load(t / "honest");
  Error e = expect_error([&] { store.load(t / "forged"); });
  EXPECT_EQ(e.kind(), ErrorKind::Corrupt) << e.what();
  EXPECT_NE(std::string(e.what()).find(sha256_digest(forged.bytes)), std::string::npos) << e.what();
  EXPECT_FALSE(store.find("test/forged:1").has_value());
  EXPECT_EQ(store.list().size(), 1u);
}

TEST(ImageLoad, ACheckedCompressedBlobIsRememberedUntilGcDropsIt) {
  TempDir t;
  LayerBlob layer = gzip_layer("f", "shared");
  berth::testing::write_oci_layout(t / "a", "test/a:1", {layer});
  berth::testing::write_oci_layout(t / "b", "test/b:1", {layer}, "other");
  ImageStore store(t / "root");
  auto remembered = [&] {
    auto st = store.db().prepare("SELECT diff_id FROM layer_blobs WHERE blob = ?1");
    st.bind(1, sha256_digest(layer.bytes));
    return st.step() ? st.text(0) : std::string();
  };
  store.load(t / "a");
  EXPECT_EQ(remembered(), layer.diff_id);
  store.load(t / "b");  // same blob, layer unpacked: answered from the record
  EXPECT_EQ(store.list().size(), 2u);
  store.prune(true);
  EXPECT_EQ(remembered(), "");
  EXPECT_EQ(store.load(t / "b").size(), 1u);
  EXPECT_EQ(remembered(), layer.diff_id);
}

TEST(ImageLoad, LayoutDirBlobIsVerifiedEvenWhenTheStoreHasIt) {
  TempDir t;
  LayerBlob layer = plain_layer(TarBuilder().file("f", "content").finish());
  berth::testing::write_oci_layout(t / "layout", "test/dir:1", {layer});
  ImageStore store(t / "root");
  store.load(t / "layout");
  std::string blob = t / ("layout/blobs/sha256/" + layer.diff_id.substr(7));
  std::string bytes = fs::read_file(blob);
  bytes[600] ^= 1;
  fs::write_file(blob, bytes);
  Error e = expect_error([&] { store.load(t / "layout"); });
  EXPECT_EQ(e.kind(), ErrorKind::Corrupt) << e.what();
  EXPECT_NE(std::string(e.what()).find(layer.diff_id), std::string::npos) << e.what();
}

TEST(ImageLoad, NestedIndexesAreFollowed) {
  TempDir t;
  LayerBlob layer = gzip_layer("f", "nested");
  std::string md = berth::testing::write_oci_layout(t / "layout", "test/nested:1", {layer});
  berth::testing::nest_in_indexes(t / "layout", 3);
  ImageStore store(t / "root");
  auto img = store.load(t / "layout").at(0);
  EXPECT_EQ(img.manifest_digest, md);
  EXPECT_EQ(store.resolve("test/nested:1").id, img.id);
  EXPECT_EQ(fs::read_file(store.layer_dir(store.chain_ids(img)[0]) + "/f"), "nested");
}

TEST(ImageLoad, IndexesNestedTooDeepAreRefused) {
  TempDir t;
  berth::testing::write_oci_layout(t / "ok", "test/deep:1", {gzip_layer("f", "x")});
  berth::testing::nest_in_indexes(t / "ok", 8);
  berth::testing::write_oci_layout(t / "deep", "test/deep:1", {gzip_layer("f", "x")});
  berth::testing::nest_in_indexes(t / "deep", 9);
  ImageStore store(t / "root");
  Error e = expect_error([&] { store.load(t / "deep"); });
  EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
  EXPECT_NE(std::string(e.what()).find("nested more than 8 deep"), std::string::npos) << e.what();
  EXPECT_TRUE(store.list().empty());
  EXPECT_EQ(store.load(t / "ok").size(), 1u);
}

TEST(ImageLoad, NextLoadCollectsWhatKilledLoadsLeftButNotALiveWriters) {
  TempDir t;
  std::string root = t / "root";
  std::string archive = big_archive("test/big:1");
  killed_load(root, archive, 1 << 20);
  ImageStore store(root);
  // A writer of this process, mid-blob while the next load runs.
  auto live = store.content().writer("live blob");
  live.write(std::string(2 << 20, 'l'));
  fs::write_file(t / "small.tar", docker_archive("test/small:1", {plain_layer(TarBuilder().file("s", "s").finish())}));
  store.load(t / "small.tar");
  EXPECT_EQ(count_entries(root + "/content/ingest"), 1u) << "stale ingest not collected, or the live file lost";
  std::string d = live.finish();
  live.commit();
  EXPECT_TRUE(store.content().has(d));
  EXPECT_EQ(count_entries(root + "/content/ingest"), 0u);
}

TEST(ImageLoad, PruneCountsTheIngestItFrees) {
  TempDir t;
  std::string root = t / "root";
  killed_load(root, big_archive("test/big:1"), 1 << 20);
  ImageStore store(root);
  GcReport gc;
  store.prune(false, &gc);
  EXPECT_EQ(count_entries(root + "/content/ingest"), 0u);
  EXPECT_GE(gc.bytes, 1 << 20) << "prune freed the stale ingest but did not count it";
}
