// Image store against the real kernel: loads, overlay mounts, chroot runs,
// whiteouts, hostile tars, corruption, concurrency, commit and GC.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "image/image_store.hpp"
#include "image/layer_commit.hpp"
#include "image/layer_unpack.hpp"
#include "image/overlay_snapshotter.hpp"
#include "test_support.hpp"
#include "unit/image/image_fixtures.hpp"

namespace fsx = std::filesystem;
using namespace berth;
using namespace berth::image;
using berth::testing::count_entries;
using berth::testing::expect_error;
using berth::testing::TarBuilder;
using berth::testing::TempDir;
using berth::testing::write_oci_layout;

namespace {

std::string images_dir() { return berth::testing::build_dir() + "/images"; }

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// A mounted snapshot, unmounted and removed when the test ends.
struct Mounted {
  OverlaySnapshotter& sn;
  std::string key;
  Mounted(OverlaySnapshotter& s, const std::string& k, const std::string& image) : sn(s), key(k) {
    auto specs = sn.prepare(key, image);
    mount_all(specs, sn.merged(key));
  }
  ~Mounted() {
    try {
      sn.remove(key);
    } catch (...) {
    }
  }
  std::string path(const std::string& rel) const { return sn.merged(key) + "/" + rel; }
};

void require_images() {
  if (!fs::exists(images_dir() + "/busybox-docker-archive.tar"))
    GTEST_SKIP() << "run scripts/make-base-image " << images_dir();
}

}  // namespace

TEST(ImageStore, LoadDockerArchiveMountAndRunBusybox) {
  BERTH_REQUIRE_ROOT();
  require_images();
  TempDir t;
  ImageStore store(t.path());
  auto imgs = store.load(images_dir() + "/busybox-docker-archive.tar");
  ASSERT_EQ(imgs.size(), 1u);
  ASSERT_EQ(imgs[0].tags, std::vector<std::string>{"docker.io/library/busybox:latest"});
  EXPECT_GT(imgs[0].size, 500000);
  OverlaySnapshotter sn(store);
  {
    Mounted m(sn, "c1", "busybox");
    EXPECT_TRUE(is_mount_point(sn.merged("c1")));
    std::string out = run("chroot " + sn.merged("c1") + " /bin/sh -c 'echo hello from $(cat /etc/hostname)' 2>&1");
    EXPECT_EQ(out, "hello from berth\n");
    // Writes land in the upper dir, never in the shared layer.
    run("chroot " + sn.merged("c1") + " /bin/sh -c 'echo x > /etc/hostname'");
    EXPECT_EQ(fs::read_file(sn.upper("c1") + "/etc/hostname"), "x\n");
    auto chains = store.chain_ids(imgs[0]);
    EXPECT_EQ(fs::read_file(store.layer_dir(chains[0]) + "/etc/hostname"), "berth\n");
  }
  EXPECT_FALSE(fs::exists(t / "containers/c1"));
  EXPECT_TRUE(store.snapshots().empty());
}

TEST(ImageStore, OciLayoutDigestsSurviveLoadAndSave) {
  BERTH_REQUIRE_ROOT();
  require_images();
  TempDir t;
  ImageStore store(t.path() + "/a");
  auto idx = nlohmann::json::parse(fs::read_file(images_dir() + "/busybox-oci/index.json"));
  std::string want = idx["manifests"][0]["digest"];
  auto imgs = store.load(images_dir() + "/busybox-oci");
  ASSERT_EQ(imgs.size(), 1u);
  EXPECT_EQ(imgs[0].manifest_digest, want);
  for (auto fmt : {"oci-archive", "docker-archive"}) {
    std::string out = t.path() + "/" + fmt + ".tar";
    UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    store.save({"busybox"}, fmt, fd.get());
    fd.reset();
    ImageStore other(t.path() + "/b-" + fmt);
    auto again = other.load(out);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].id, imgs[0].id) << fmt;
    EXPECT_EQ(again[0].tags, imgs[0].tags) << fmt;
    if (std::string(fmt) == "oci-archive") {
      EXPECT_EQ(again[0].manifest_digest, want);
    }
  }
}

TEST(ImageStore, WhiteoutsAndOpaqueDirsInContainer) {
  BERTH_REQUIRE_ROOT();
  TempDir t;
  std::string l1 = TarBuilder()
                       .dir("a")
                       .file("a/keep", "k")
                       .file("a/gone", "g")
                       .dir("d")
                       .file("d/old", "o")
                       .dir("d/sub")
                       .file("d/sub/deep", "x")
                       .finish();
  std::string l2 = TarBuilder()
                       .file("a/.wh.gone", "")
                       .dir("d")
                       .file("d/.wh..wh..opq", "")
                       .file("d/new", "n")
                       .finish();
  write_oci_layout(t / "layout", "test/wh:1", {berth::testing::plain_layer(l1), berth::testing::plain_layer(l2)});
  ImageStore store(t / "root");
  auto img = store.load(t / "layout").at(0);
  // The unpacked layer holds overlay's own whiteout forms.
  auto chains = store.chain_ids(img);
  struct stat st;
  ASSERT_EQ(::lstat((store.layer_dir(chains[1]) + "/a/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char v[4] = {};
  EXPECT_EQ(::getxattr((store.layer_dir(chains[1]) + "/d").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_FALSE(fs::exists(store.layer_dir(chains[1]) + "/a/.wh.gone"));

  OverlaySnapshotter sn(store);
  Mounted m(sn, "wh", "test/wh:1");
  EXPECT_TRUE(fs::exists(m.path("a/keep")));
  EXPECT_FALSE(fs::exists(m.path("a/gone")));
  EXPECT_FALSE(fs::exists(m.path("d/old")));
  EXPECT_FALSE(fs::exists(m.path("d/sub")));
  EXPECT_EQ(fs::read_file(m.path("d/new")), "n");
}

TEST(ImageStore, UnpackKeepsMetadata) {
  BERTH_REQUIRE_ROOT();
  TempDir t;
  std::string tar = TarBuilder()
                        .dir("bin", 0755)
                        .file("bin/suid", "#!", 04755, [](archive_entry* e) {
                          archive_entry_set_uid(e, 0);
                          archive_entry_set_gid(e, 0);
                        })
                        .file("owned", "o", 0640, [](archive_entry* e) {
                          archive_entry_set_uid(e, 1234);
                          archive_entry_set_gid(e, 5678);
                          archive_entry_set_mtime(e, 1500000000, 123456789);
                          archive_entry_xattr_add_entry(e, "user.note", "hi", 2);
                          archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/x", 2);
                        })
                        .hardlink("bin/link", "bin/suid")
                        .chardev("null", 1, 3)
                        .symlink("sh", "/bin/busybox")
                        .dir("private", 0700, [](archive_entry* e) { archive_entry_set_mtime(e, 1200000000, 0); })
                        .file("private/f", "f")
                        .finish();
  fs::write_file(t / "l.tar", tar);
  fs::mkdir_p(t / "out");
  UniqueFd fd(::open((t / "l.tar").c_str(), O_RDONLY));
  auto r = unpack_layer(fd.get(), t / "out");
  EXPECT_EQ(r.diff_id, sha256_digest(tar));
  struct stat st, st2;
  ASSERT_EQ(::lstat((t / "out/bin/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  ASSERT_EQ(::lstat((t / "out/bin/link").c_str(), &st2), 0);
  EXPECT_EQ(st.st_ino, st2.st_ino);
  ASSERT_EQ(::lstat((t / "out/owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  char v[8] = {};
  EXPECT_EQ(::getxattr((t / "out/owned").c_str(), "user.note", v, sizeof v), 2);
  EXPECT_EQ(::getxattr((t / "out/owned").c_str(), "trusted.overlay.redirect", v, sizeof v), -1)
      << "overlay attributes from a layer must be dropped";
  ASSERT_EQ(::lstat((t / "out/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  ASSERT_EQ(::lstat((t / "out/sh").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::lstat((t / "out/private").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1200000000) << "directory times are set after their contents";
}

TEST(ImageStore, HostileTarsWriteNothingOutside) {
  BERTH_REQUIRE_ROOT();
  struct Case {
    const char* name;
    std::string tar;
    const char* entry;  // must appear in the error
  };
  std::vector<Case> cases = {
      {"dotdot", TarBuilder().file("../escape", "x").finish(), "../escape"},
      {"dotdot-deep", TarBuilder().dir("a").file("a/../../escape", "x").finish(), "a/../../escape"},
      {"absolute", TarBuilder().file("/tmp/berth-abs-escape", "x").finish(), "/tmp/berth-abs-escape"},
      {"symlink-write", TarBuilder().symlink("link", "../outside").file("link/escape", "x").finish(), "link/escape"},
      {"symlink-abs-write", TarBuilder().symlink("link", "/").file("link/tmp/escape", "x").finish(), "link/tmp/escape"},
      {"symlink-dir-then-mkdir", TarBuilder().symlink("d", "../outside").dir("d/sub").finish(), "d/sub/"},
      {"hardlink-outside", TarBuilder().hardlink("hl", "../outside/secret").finish(), "hl"},
      {"hardlink-absolute", TarBuilder().hardlink("hl", "/etc/passwd").finish(), "hl"},
      {"hardlink-via-symlink", TarBuilder().symlink("s", "../outside").hardlink("hl", "s/secret").finish(), "hl"},
      {"hardlink-missing", TarBuilder().hardlink("hl", "no/such/file").finish(), "hl"},
      {"whiteout-dotdot", TarBuilder().dir("a").file("a/.wh...", "").finish(), "a/.wh..."},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir t;
    fs::mkdir_p(t / "outside");
    fs::write_file(t / "outside/secret", "s");
    fs::mkdir_p(t / "layer/diff");
    fs::write_file(t / "evil.tar", c.tar);
    UniqueFd fd(::open((t / "evil.tar").c_str(), O_RDONLY));
    Error e = expect_error([&] { unpack_layer(fd.get(), t / "layer/diff"); });
    EXPECT_NE(std::string(e.what()).find("\"" + std::string(c.entry) + "\""), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
    // Nothing outside the layer dir changed.
    EXPECT_EQ(count_entries(t / "outside"), 1u);
    EXPECT_EQ(fs::read_file(t / "outside/secret"), "s");
    EXPECT_EQ(count_entries(t.path()), 3u);  // outside, layer, evil.tar
    EXPECT_EQ(count_entries(t / "layer"), 1u);
    EXPECT_FALSE(fs::exists("/tmp/berth-abs-escape"));
    EXPECT_FALSE(fs::exists("/tmp/escape"));
  }
}

TEST(ImageStore, CorruptBlobIsRefusedNamingDigest) {
  BERTH_REQUIRE_ROOT();
  require_images();
  TempDir t;
  run("cp -a " + images_dir() + "/busybox-oci " + t.path() + "/oci");
  auto idx = nlohmann::json::parse(fs::read_file(t / "oci/index.json"));
  auto m = nlohmann::json::parse(fs::read_file(t / ("oci/blobs/sha256/" + idx["manifests"][0]["digest"].get<std::string>().substr(7))));
  std::string layer = m["layers"][0]["digest"];
  std::string p = t / ("oci/blobs/sha256/" + layer.substr(7));
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100000);
    char c;
    f.get(c);
    f.seekp(100000);
    f.put(static_cast<char>(c ^ 1));
  }
  ImageStore store(t / "root");
  Error e = expect_error([&] { store.load(t / "oci"); });
  EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
  EXPECT_NE(std::string(e.what()).find(layer), std::string::npos) << e.what();
  EXPECT_TRUE(store.list().empty());
  EXPECT_TRUE(store.content().list().empty());
  EXPECT_EQ(count_entries(t / "root/layers"), 0u);
  EXPECT_EQ(count_entries(t / "root/content/ingest"), 0u);

  // The same flip inside a docker-archive: caught by the diff-id check.
  run("mkdir " + t.path() + "/da && tar -xf " + images_dir() + "/busybox-docker-archive.tar -C " + t.path() + "/da");
  std::string lt = run("cd " + t.path() + "/da && ls */layer.tar | head -1");
  lt.pop_back();
  {
    std::fstream f(t / ("da/" + lt), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(300000);
    char c;
    f.get(c);
    f.seekp(300000);
    f.put(static_cast<char>(c ^ 1));
  }
  run("cd " + t.path() + "/da && tar -cf ../bad.tar *");
  Error e2 = expect_error([&] { store.load(t / "bad.tar"); });
  EXPECT_EQ(e2.kind(), ErrorKind::Corrupt);
  std::string diff = "sha256:" + lt.substr(0, 64);
  EXPECT_NE(std::string(e2.what()).find(diff), std::string::npos) << e2.what();
  EXPECT_TRUE(store.list().empty());
  EXPECT_TRUE(store.content().list().empty());
  EXPECT_EQ(count_entries(t / "root/layers"), 0u);
}

TEST(ImageStore, TruncatedArchiveLeavesNoHalfImage) {
  BERTH_REQUIRE_ROOT();
  require_images();
  TempDir t;
  std::string full = fs::read_file(images_dir() + "/busybox-docker-archive.tar");
  fs::write_file(t / "trunc.tar", full.substr(0, full.size() / 2));
  ImageStore store(t / "root");
  Error e = expect_error([&] { store.load(t / "trunc.tar"); });
  EXPECT_NE(e.kind(), ErrorKind::Internal) << e.what();
  EXPECT_NE(std::string(e.what()).find("trunc.tar"), std::string::npos) << e.what();
  EXPECT_TRUE(store.list().empty());
  EXPECT_TRUE(store.content().list().empty());
  EXPECT_EQ(count_entries(t / "root/layers"), 0u);
  EXPECT_EQ(count_entries(t / "root/content/ingest"), 0u);
}

TEST(ImageStore, SameLayerUnpackedOnceUnderConcurrency) {
  BERTH_REQUIRE_ROOT();
  require_images();
  TempDir t;
  std::string layer = fs::read_file(images_dir() + "/busybox-layer.tar");
  ImageStore store(t.path());
  std::string d = store.content().put(layer);
  std::vector<std::thread> th;
  std::vector<LayerInfo> got(4);
  std::vector<std::string> errs(4);
  for (int i = 0; i < 4; ++i)
    th.emplace_back([&, i] {
      try {
        ImageStore s(t.path());  // its own connection, as another process would have
        got[i] = s.ensure_layer(d, d, d);
      } catch (const std::exception& e) {
        errs[i] = e.what();
      }
    });
  for (auto& x : th) x.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(errs[i], "");
    EXPECT_EQ(got[i].dir, store.layer_dir(d));
  }
  // One layer dir, no temporaries left; two images sharing it reuse it.
  size_t dirs = 0;
  for (auto& e : fsx::directory_iterator(t / "layers"))
    if (e.is_directory()) {
      ++dirs;
      EXPECT_FALSE(e.path().filename().string().starts_with(".tmp"));
    }
  EXPECT_EQ(dirs, 1u);
  EXPECT_TRUE(fs::exists(store.layer_dir(d) + "/bin/busybox"));
}

TEST(ImageStore, ManyLayersMountBeyondOneOptionPage) {
  BERTH_REQUIRE_ROOT();
  TempDir t;
  std::vector<berth::testing::LayerBlob> layers;
  const int n = 50;  // 50 absolute lowerdir paths of ~100 bytes: > 4 KiB
  for (int i = 0; i < n; ++i)
    layers.push_back(berth::testing::plain_layer(
        TarBuilder().dir("layers").file("layers/" + std::to_string(i), std::to_string(i)).file("top", std::to_string(i)).finish()));
  write_oci_layout(t / "layout", "test/many:1", layers);
  ImageStore store(t / "root");
  store.load(t / "layout");
  OverlaySnapshotter sn(store);
  auto specs = sn.prepare("many", "test/many:1");
  size_t optlen = 0;
  for (auto& o : specs[0].options) optlen += o.size() + 1;
  EXPECT_GT(optlen, 4096u);
  mount_all(specs, sn.merged("many"));
  EXPECT_EQ(count_entries(sn.merged("many") + "/layers"), static_cast<size_t>(n));
  EXPECT_EQ(fs::read_file(sn.merged("many") + "/top"), std::to_string(n - 1));
  sn.remove("many");
  EXPECT_FALSE(fs::exists(t / "root/containers/many"));
}

TEST(ImageStore, CompressedLayersAndMultiPlatformIndex) {
  BERTH_REQUIRE_ROOT();
  TempDir t;
  std::string raw1 = TarBuilder().file("gz", "gzip layer").finish();
  std::string raw2 = TarBuilder().file("zst", "zstd layer").finish();
  fs::write_file(t / "l1", raw1);
  fs::write_file(t / "l2", raw2);
  std::string gz = run("gzip -c " + t.path() + "/l1");
  std::string zs = run("zstd -q -c " + t.path() + "/l2");
  std::string md = write_oci_layout(
      t / "layout", "test/multi:1",
      {{gz, sha256_digest(raw1), "application/vnd.oci.image.layer.v1.tar+gzip"},
       {zs, sha256_digest(raw2), "application/vnd.oci.image.layer.v1.tar+zstd"}});
  // Wrap the manifest in an index with an arm64 sibling.
  std::string msize = std::to_string(fs::read_file(t / ("layout/blobs/sha256/" + md.substr(7))).size());
  std::string nested = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
                       R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" + std::string(64, 'e') +
                       R"(","size":10,"platform":{"os":"linux","architecture":"arm64"}},)"
                       R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + md + R"(","size":)" + msize +
                       R"(,"platform":{"os":"linux","architecture":"amd64"}}]})";
  std::string nd = sha256_digest(nested);
  fs::write_file(t / ("layout/blobs/sha256/" + nd.substr(7)), nested);
  fs::write_file(t / "layout/index.json",
                 R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":")" + nd +
                     R"(","size":)" + std::to_string(nested.size()) +
                     R"(,"annotations":{"io.containerd.image.name":"docker.io/test/multi:1"}}]})");
  ImageStore store(t / "root");
  auto img = store.load(t / "layout").at(0);
  EXPECT_EQ(img.manifest_digest, md);
  OverlaySnapshotter sn(store);
  Mounted m(sn, "multi", "test/multi:1");
  EXPECT_EQ(fs::read_file(m.path("gz")), "gzip layer");
  EXPECT_EQ(fs::read_file(m.path("zst")), "zstd layer");
}

TEST(ImageStore, CommitMakesNewImageAndRmiGuardsUsedImages) {
  BERTH_REQUIRE_ROOT();
  require_images();
  TempDir t;
  ImageStore store(t.path());
  auto base = store.load(images_dir() + "/busybox-docker-archive.tar").at(0);
  OverlaySnapshotter sn(store);
  {
    Mounted m(sn, "builder", "busybox");
    run("chroot " + sn.merged("builder") +
        " /bin/sh -c 'echo made > /made && rm /etc/hostname && rm -rf /home && mkdir /home && echo n > /home/new'");
    unmount(sn.merged("builder"));
    CommitOptions o;
    o.refs = {"me/committed:v1"};
    o.comment = "test commit";
    auto img = commit_snapshot(store, "builder", o);
    EXPECT_NE(img.id, base.id);
    auto cfg = store.config(img);
    ASSERT_EQ(cfg.diff_ids().size(), 2u);
    EXPECT_EQ(cfg.raw["history"].back()["comment"], "test commit");
  }
  {
    Mounted m2(sn, "user", "me/committed:v1");
    EXPECT_EQ(fs::read_file(m2.path("made")), "made\n");
    EXPECT_FALSE(fs::exists(m2.path("etc/hostname")));
    EXPECT_EQ(fs::read_file(m2.path("home/new")), "n\n");
    EXPECT_TRUE(fs::exists(m2.path("bin/busybox")));
    // rmi refuses an image a container uses, naming the container.
    Error e = expect_error([&] { store.remove("me/committed:v1", false); });
    EXPECT_EQ(e.kind(), ErrorKind::FailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("user"), std::string::npos) << e.what();
    EXPECT_TRUE(store.find("me/committed:v1").has_value());
  }
  // Unused now: removal deletes the image and GC its private layer and blobs.
  auto before = store.content().list().size();
  auto rep = store.remove("me/committed:v1", false);
  EXPECT_EQ(rep.deleted.size(), 1u);
  EXPECT_EQ(store.content().list().size(), before - 3);  // manifest, config, layer
  EXPECT_EQ(count_entries(t / "layers") - 0, 2u);       // busybox layer + its lock file
  rep = store.remove("busybox", false);
  EXPECT_TRUE(store.content().list().empty());
  EXPECT_TRUE(store.list().empty());
  for (auto& e : fsx::directory_iterator(t / "layers")) ADD_FAILURE() << "left: " << e.path();
}

TEST(ImageStore, TagsIdsAndDigestsResolve) {
  BERTH_REQUIRE_ROOT();
  require_images();
  TempDir t;
  ImageStore store(t.path());
  auto img = store.load(images_dir() + "/busybox-oci").at(0);
  store.tag("busybox", "quay.io/me/bb:2");
  EXPECT_EQ(store.resolve("quay.io/me/bb:2").id, img.id);
  EXPECT_EQ(store.resolve(short_id(img.id)).id, img.id);
  EXPECT_EQ(store.resolve(img.id).id, img.id);
  EXPECT_EQ(store.resolve("busybox@" + img.manifest_digest).id, img.id);
  EXPECT_THROW(store.resolve("nope"), Error);
  // Removing one of two tags only untags.
  auto rep = store.remove("quay.io/me/bb:2", false);
  EXPECT_TRUE(rep.deleted.empty());
  EXPECT_EQ(rep.untagged, std::vector<std::string>{"quay.io/me/bb:2"});
  EXPECT_EQ(store.list().size(), 1u);
  // prune keeps tagged images; prune -a removes them.
  EXPECT_TRUE(store.prune(false).deleted.empty());
  EXPECT_EQ(store.prune(true).deleted.size(), 1u);
  EXPECT_TRUE(store.content().list().empty());
}
