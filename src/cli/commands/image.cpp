// Image verbs: load, save, images, image inspect, tag, rmi, image prune,
// commit, and the `berth image ...` forms of each. Thin: parse, call the
// image store, print like Docker does.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command_registry.hpp"
#include "cli/commands/output.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "image/image_store.hpp"
#include "image/layer_unpack.hpp"
#include "engine/docker_views.hpp"
#include "image/overlay_snapshotter.hpp"
#include "image/reference.hpp"

namespace berth::cli {
namespace {

using image::ImageRecord;
using image::ImageStore;
using nlohmann::json;

std::string familiar(const std::string& ref) {
  try {
    return image::parse_reference(ref).familiar();
  } catch (...) {
    return ref;
  }
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  for (auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
}

// ---- load
void add_load(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("load", "Load images from an OCI layout (dir or tar) or docker-archive tar");
  auto input = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  c->add_option("-i,--input", *input, "archive file or OCI layout directory (default: stdin)");
  c->add_flag("-q,--quiet", *quiet, "print nothing");
  c->callback([&g, input, quiet] {
    if (input->empty() && ::isatty(STDIN_FILENO))
      throw Error("requested load from stdin, but stdin is a terminal; use -i FILE", ErrorKind::InvalidArgument);
    ImageStore store(g.root);
    auto imgs = store.load(*input);
    if (*quiet) return;
    for (auto& i : imgs) {
      if (i.tags.empty()) std::cout << "Loaded image ID: " << i.id << "\n";
      for (auto& t : i.tags) std::cout << "Loaded image: " << familiar(t) << "\n";
    }
  });
}

// ---- save
void add_save(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("save", "Save images to a tar archive (docker-archive or oci-archive)");
  auto out = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("docker-archive");
  auto names = std::make_shared<std::vector<std::string>>();
  c->add_option("-o,--output", *out, "write to FILE instead of stdout");
  c->add_option("--format", *format, "oci-archive or docker-archive")->capture_default_str();
  c->add_option("images", *names, "images to save")->required();
  c->callback([&g, out, format, names] {
    ImageStore store(g.root);
    if (out->empty() || *out == "-") {
      if (::isatty(STDOUT_FILENO))
        throw Error("refusing to write an archive to a terminal; use -o FILE or redirect", ErrorKind::InvalidArgument);
      store.save(*names, *format, STDOUT_FILENO);
      return;
    }
    struct stat st;
    if (::stat(out->c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      // A device or a fifo (/dev/stdout, a pipe): write into it, never replace it.
      UniqueFd f(::open(out->c_str(), O_WRONLY | O_CLOEXEC));
      if (!f) throw_errno("open " + *out);
      store.save(*names, *format, f.get());
      return;
    }
    // Write beside the target and rename: a failed save leaves no half file.
    std::string tmp = *out + ".berth-tmp-XXXXXX";
    int fd = ::mkstemp(tmp.data());
    if (fd < 0) throw_errno("create " + tmp);
    UniqueFd f(fd);
    try {
      store.save(*names, *format, fd);
      if (::fchmod(fd, 0644) != 0) throw_errno("chmod " + tmp);
      if (::fsync(fd) != 0) throw_errno("fsync " + tmp);
      if (::rename(tmp.c_str(), out->c_str()) != 0) throw_errno("rename to " + *out);
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  });
}

// ---- images
CLI::App* add_images(CLI::App& parent, Globals& g, const std::string& name) {
  auto* c = parent.add_subcommand(name, "List images");
  auto quiet = std::make_shared<bool>(false);
  auto digests = std::make_shared<bool>(false);
  auto all = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>("table");
  auto filter = std::make_shared<std::string>();
  c->add_flag("-q,--quiet", *quiet, "only image IDs");
  c->add_flag("--digests", *digests, "show manifest digests");
  c->add_flag("-a,--all", *all, "show all images (no intermediate images are hidden anyway)");
  c->add_option("--format", *format, "table or json");
  c->add_option("repository", *filter, "only this REPOSITORY[:TAG]");
  c->callback([&g, quiet, digests, format, filter] {
    if (*format != "table" && *format != "json")
      throw Error("unknown --format \"" + *format + "\" (want table or json)", ErrorKind::InvalidArgument);
    ImageStore store(g.root);
    std::optional<image::Reference> want;
    bool want_tag = false;
    if (!filter->empty()) {
      want = image::parse_reference(*filter, false);
      want_tag = !want->tag.empty();
    }
    struct Row {
      std::string repo, tag, digest, id, created, size, created_at;
      int64_t bytes;
    };
    std::vector<Row> rows;
    for (auto& img : store.list()) {
      auto mk = [&](const std::string& repo, const std::string& tag, const std::string& digest) {
        rows.push_back({repo, tag, digest, image::short_id(img.id), image::human_since(img.created),
                        image::human_size(img.size), img.created, img.size});
      };
      if (img.tags.empty()) {
        if (!want) mk("<none>", "<none>", img.manifest_digest);
        continue;
      }
      for (auto& t : img.tags) {
        auto r = image::parse_reference(t);
        if (want && (r.name() != want->name() || (want_tag && r.tag != want->tag))) continue;
        mk(r.familiar_name(), r.tag.empty() ? "<none>" : r.tag, img.manifest_digest);
      }
    }
    if (*quiet) {
      std::vector<std::string> seen;
      for (auto& r : rows)
        if (std::find(seen.begin(), seen.end(), r.id) == seen.end()) seen.push_back(r.id), std::cout << r.id << "\n";
      return;
    }
    if (*format == "json") {
      for (auto& r : rows) {
        json j = {{"Containers", "N/A"}, {"CreatedAt", r.created_at}, {"CreatedSince", r.created},
                  {"Digest", r.digest}, {"ID", r.id}, {"Repository", r.repo}, {"SharedSize", "N/A"},
                  {"Size", r.size}, {"Tag", r.tag}, {"UniqueSize", "N/A"}, {"VirtualSize", r.size}};
        std::cout << json_text(j) << "\n";
      }
      return;
    }
    std::vector<std::vector<std::string>> t;
    if (*digests)
      t.push_back({"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"});
    else
      t.push_back({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
    for (auto& r : rows) {
      if (*digests)
        t.push_back({r.repo, r.tag, r.digest, r.id, r.created, r.size});
      else
        t.push_back({r.repo, r.tag, r.id, r.created, r.size});
    }
    print_table(t);
  });
  return c;
}

// ---- inspect
void add_inspect(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("inspect", "Show image details as JSON");
  auto names = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  c->add_option("-f,--format", *format, "Format output using a custom template ('json', or a Go template)");
  c->add_option("images", *names, "images")->required();
  c->callback([&g, names, format] {
    ImageStore store(g.root);
    std::vector<json> out;
    std::string errors;
    for (auto& n : *names) {
      auto f = store.find(n);
      if (!f) {
        errors += (errors.empty() ? "" : "; ") + std::string("image \"") + n + "\" not found";
        continue;
      }
      out.push_back(engine::image_inspect_view(store, *f));
    }
    std::cout << format_objects(*format, out);
    if (!errors.empty()) throw Error(errors, ErrorKind::NotFound);
  });
}

// ---- tag
void add_tag(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("tag", "Give an image another name");
  auto src = std::make_shared<std::string>();
  auto dst = std::make_shared<std::string>();
  c->add_option("source", *src, "SOURCE_IMAGE[:TAG] or ID")->required();
  c->add_option("target", *dst, "TARGET_IMAGE[:TAG]")->required();
  c->callback([&g, src, dst] {
    ImageStore store(g.root);
    store.tag(*src, *dst);
  });
}

// ---- rmi
void add_rmi(CLI::App& parent, Globals& g, const std::string& name) {
  auto* c = parent.add_subcommand(name, "Remove images");
  auto force = std::make_shared<bool>(false);
  auto names = std::make_shared<std::vector<std::string>>();
  c->add_flag("-f,--force", *force, "remove even if a container uses it or it has several tags");
  c->add_option("images", *names, "images")->required();
  c->callback([&g, force, names] {
    ImageStore store(g.root);
    std::optional<Error> first;
    for (auto& n : *names) {
      try {
        auto rep = store.remove(n, *force);
        for (auto& u : rep.untagged) std::cout << "Untagged: " << u << "\n";
        for (auto& d : rep.deleted) std::cout << "Deleted: " << d << "\n";
      } catch (Error& e) {
        if (names->size() == 1) throw;
        std::cerr << "berth: " << e.what() << "\n";
        if (!first) first = e;
      }
    }
    if (first) throw *first;
  });
}

// ---- prune
void add_prune(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("prune", "Remove unused images, then unreferenced blobs and layers");
  auto all = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  c->add_flag("-a,--all", *all, "remove all images no container uses, not just untagged ones");
  c->add_flag("-f,--force", *force, "do not prompt (there is no prompt; accepted for Docker compatibility)");
  c->callback([&g, all] {
    ImageStore store(g.root);
    image::GcReport gc;
    auto rep = store.prune(*all, &gc);
    if (!rep.untagged.empty() || !rep.deleted.empty()) {
      std::cout << "Deleted Images:\n";
      for (auto& u : rep.untagged) std::cout << "untagged: " << u << "\n";
      for (auto& d : rep.deleted) std::cout << "deleted: " << d << "\n";
      std::cout << "\n";
    }
    std::cout << "Total reclaimed space: " << image::human_size(gc.bytes) << "\n";
  });
}

// ---- hidden helpers: layer unpack (bench) and snapshots (tests, tools)
void add_hidden(CLI::App& img, Globals& g) {
  auto* u = img.add_subcommand("unpack-layer", "unpack one layer tar into DIR (benchmarks)");
  u->group("");
  auto tar = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  u->add_option("tar", *tar)->required();
  u->add_option("dir", *dir)->required();
  u->callback([tar, dir] {
    UniqueFd fd(::open(tar->c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + *tar);
    fs::mkdir_p(*dir);
    auto r = image::unpack_layer(fd.get(), *dir);
    std::cout << r.diff_id << "\n";
  });

  auto* s = img.add_subcommand("snapshot", "container rootfs snapshots (prepare, mount, unmount, rm, ls)");
  s->group("");
  s->require_subcommand(1);
  auto key = std::make_shared<std::string>();
  auto imgname = std::make_shared<std::string>();
  auto* p = s->add_subcommand("prepare", "create snapshot KEY on IMAGE");
  p->add_option("key", *key)->required();
  p->add_option("image", *imgname)->required();
  p->callback([&g, key, imgname] {
    ImageStore store(g.root);
    image::OverlaySnapshotter sn(store);
    sn.prepare(*key, *imgname);
    std::cout << sn.dir(*key) << "\n";
  });
  auto* m = s->add_subcommand("mount", "mount snapshot KEY on its merged dir; print it");
  m->add_option("key", *key)->required();
  m->callback([&g, key] {
    ImageStore store(g.root);
    image::OverlaySnapshotter sn(store);
    auto specs = sn.mounts(*key);
    if (!image::is_mount_point(sn.merged(*key))) image::mount_all(specs, sn.merged(*key));
    std::cout << sn.merged(*key) << "\n";
  });
  auto* um = s->add_subcommand("unmount", "unmount snapshot KEY");
  um->add_option("key", *key)->required();
  um->callback([&g, key] {
    ImageStore store(g.root);
    image::OverlaySnapshotter sn(store);
    image::unmount(sn.merged(*key));
  });
  auto* rm = s->add_subcommand("rm", "remove snapshot KEY");
  rm->add_option("key", *key)->required();
  rm->callback([&g, key] {
    ImageStore store(g.root);
    image::OverlaySnapshotter sn(store);
    sn.remove(*key);
  });
  auto* ls = s->add_subcommand("ls", "list snapshots");
  ls->callback([&g] {
    ImageStore store(g.root);
    image::OverlaySnapshotter sn(store);
    for (auto& i : sn.list()) std::cout << i.key << "\t" << (i.image_id.empty() ? "-" : image::short_id(i.image_id)) << "\t" << i.layers << "\n";
  });
}

const bool registered = add_commands({"load", "save", "images", "tag", "rmi", "image"}, [](CLI::App& app, Globals& g) {
  add_load(app, g);
  add_save(app, g);
  add_images(app, g, "images");
  add_tag(app, g);
  add_rmi(app, g, "rmi");

  auto* img = app.add_subcommand("image", "Manage images");
  img->require_subcommand(1);
  add_load(*img, g);
  add_save(*img, g);
  add_images(*img, g, "ls");
  add_images(*img, g, "list")->group("");
  add_inspect(*img, g);
  add_tag(*img, g);
  add_rmi(*img, g, "rm");
  add_prune(*img, g);
  add_hidden(*img, g);
});

}  // namespace
}  // namespace berth::cli
