// cp, diff, export, import, commit: a container's files (docker's verbs).
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/command_registry.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/subprocess.hpp"
#include "engine/container_engine.hpp"
#include "image/rootfs_import.hpp"

namespace berth::cli {
namespace {

struct CpPath {
  std::string container;  // "" = host
  std::string path;
};

CpPath split_cp_arg(const std::string& a) {
  // "name:/path" is a container path; a host path with a colon needs "./" first, as docker's
  if (a == "-" || a.empty() || a[0] == '/' || a[0] == '.') return {"", a};
  auto colon = a.find(':');
  if (colon == std::string::npos) return {"", a};
  return {a.substr(0, colon), a.substr(colon + 1)};
}

std::string base_name(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::string dir_name(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto s = p.find_last_of('/');
  if (s == std::string::npos) return ".";
  return s == 0 ? "/" : p.substr(0, s);
}

// Host `tar` with stdin/stdout given; returns its exit code.
int host_tar(const std::vector<std::string>& args, int in_fd, int out_fd) {
  std::vector<std::string> argv = {"tar"};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnFds fds{in_fd, out_fd, STDERR_FILENO};
  fds.search_path = true;
  return run_process(argv, fds);
}

// A tar --transform expression renaming the top entry `from` to `to`.
std::string rename_top(const std::string& from, const std::string& to) {
  auto esc = [](const std::string& s) {
    std::string o;
    for (char c : s) {
      if (std::string("\\^$.*[]|,&").find(c) != std::string::npos) o += '\\';
      o += c;
    }
    return o;
  };
  return "--transform=s,^" + esc(from) + "\\(/\\|$\\)," + esc(to) + "\\1,";
}

void copy_from_container(engine::ContainerEngine& eng, const CpPath& src, const std::string& dest) {
  if (dest == "-") {
    eng.copy_out(src.container, src.path, STDOUT_FILENO);
    return;
  }
  bool contents = src.path.size() >= 2 && src.path.compare(src.path.size() - 2, 2, "/.") == 0;
  std::string name = base_name(src.path);
  struct stat st{};
  bool dest_exists = ::stat(dest.c_str(), &st) == 0;
  std::string into, rename_to;
  if (contents) {
    if (!dest_exists) fs::mkdir_p(dest);
    into = dest;
  } else if (dest_exists && S_ISDIR(st.st_mode)) {
    into = dest;
  } else {
    if (!dest.empty() && dest.back() == '/')
      throw Error("destination directory \"" + dest + "\" must exist", ErrorKind::NotFound);
    into = dir_name(dest);
    rename_to = base_name(dest);
    if (!fs::is_dir(into)) throw Error("destination directory \"" + into + "\" must exist", ErrorKind::NotFound);
  }
  int p[2];
  check(::pipe2(p, O_CLOEXEC), "pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<std::string> args = {"-C", into, "-xf", "-", "--no-same-owner"};
  if (::geteuid() == 0) args.back() = "--same-owner";
  if (!rename_to.empty() && rename_to != name) args.push_back(rename_top(name, rename_to));
  int tar_rc = 0;
  std::thread extract([&] { tar_rc = host_tar(args, rd.get(), -1); });
  try {
    eng.copy_out(src.container, src.path, wr.get());
  } catch (...) {
    wr.reset();
    extract.join();
    throw;
  }
  wr.reset();
  extract.join();
  if (tar_rc != 0) throw Error("copy into " + dest + ": tar failed", ErrorKind::Internal);
}

void copy_to_container(engine::ContainerEngine& eng, const std::string& src, const CpPath& dest) {
  if (src == "-") {
    eng.copy_in(dest.container, STDIN_FILENO, dest.path);
    return;
  }
  struct stat st{};
  if (::lstat(src.c_str(), &st) != 0) throw Error("could not find the file " + src + ": no such file or directory", ErrorKind::NotFound);
  bool contents = src.size() >= 2 && src.compare(src.size() - 2, 2, "/.") == 0;
  bool exists = false;
  bool dest_dir = eng.path_kind(dest.container, dest.path, &exists);
  std::string into = dest.path, name = base_name(src), rename_to;
  std::vector<std::string> args = {"--numeric-owner", "-cf", "-"};
  if (contents) {
    if (!exists) throw Error("Could not find the file " + dest.path + " in container " + dest.container, ErrorKind::NotFound);
    args.insert(args.end(), {"-C", src, "."});
  } else {
    if (!exists || !dest_dir) {
      if (!dest.path.empty() && dest.path.back() == '/' && !exists)
        throw Error("destination directory \"" + dest.path + "\" must exist", ErrorKind::NotFound);
      into = dir_name(dest.path);
      rename_to = base_name(dest.path);
      if (S_ISDIR(st.st_mode) && exists && !dest_dir)
        throw Error("cannot copy directory " + src + " onto the file " + dest.path, ErrorKind::InvalidArgument);
    }
    if (!rename_to.empty() && rename_to != name) args.push_back(rename_top(name, rename_to));
    args.insert(args.end(), {"-C", dir_name(src), "--", name});
  }
  int p[2];
  check(::pipe2(p, O_CLOEXEC), "pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  int tar_rc = 0;
  std::thread pack([&] {
    tar_rc = host_tar(args, -1, wr.get());
    wr.reset();
  });
  try {
    eng.copy_in(dest.container, rd.get(), into);
  } catch (...) {
    rd.reset();
    pack.join();
    throw;
  }
  pack.join();
  if (tar_rc != 0) throw Error("copy " + src + ": tar failed", ErrorKind::Internal);
}

void add_file_commands(CLI::App& app, Globals& g) {
  auto add_cp = [&](CLI::App& parent) {
    auto* c = parent.add_subcommand("cp", "Copy files/folders between a container and the local filesystem");
    auto args = std::make_shared<std::vector<std::string>>();
    c->add_option("paths", *args, "CONTAINER:SRC_PATH DEST_PATH|- or SRC_PATH|- CONTAINER:DEST_PATH")->required()->expected(2);
    c->add_flag("-a,--archive")->description("Archive mode (copy all uid/gid information)");
    c->add_flag("-L,--follow-link")->description("Always follow symbol link in SRC_PATH");
    c->callback([args, &g] {
      CpPath src = split_cp_arg((*args)[0]), dst = split_cp_arg((*args)[1]);
      if (src.container.empty() == dst.container.empty())
        throw ExitStatus{1, "copying between containers is not supported; one of the paths must be CONTAINER:PATH"};
      engine::ContainerEngine eng(g.root, g.state);
      if (!src.container.empty())
        copy_from_container(eng, src, dst.path);
      else
        copy_to_container(eng, src.path, dst);
    });
  };
  auto add_diff = [&](CLI::App& parent) {
    auto* c = parent.add_subcommand("diff", "Inspect changes to files or directories on a container's filesystem");
    auto ref = std::make_shared<std::string>();
    c->add_option("container", *ref)->required();
    c->callback([ref, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      for (auto& [kind, path] : eng.diff(*ref)) std::cout << kind << " " << path << "\n";
    });
  };
  auto add_export = [&](CLI::App& parent) {
    auto* c = parent.add_subcommand("export", "Export a container's filesystem as a tar archive");
    auto ref = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    c->add_option("-o,--output", *out, "Write to a file, instead of STDOUT");
    c->add_option("container", *ref)->required();
    c->callback([ref, out, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      if (out->empty()) {
        if (::isatty(STDOUT_FILENO))
          throw ExitStatus{1, "cowardly refusing to save to a terminal. Use the -o flag or redirect"};
        eng.export_rootfs(*ref, STDOUT_FILENO);
        return;
      }
      std::string tmp = *out + ".berth-tmp";
      UniqueFd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      if (!f) throw_errno("create " + tmp);
      try {
        eng.export_rootfs(*ref, f.get());
        check(::fsync(f.get()), "fsync " + tmp);
        check(::rename(tmp.c_str(), out->c_str()), "rename to " + *out);
      } catch (...) {
        ::unlink(tmp.c_str());
        throw;
      }
    });
  };
  auto add_commit = [&](CLI::App& parent) {
    auto* c = parent.add_subcommand("commit", "Create a new image from a container's changes");
    struct F {
      std::string ref, repo, author, message;
      std::vector<std::string> changes;
      bool pause = true;
    };
    auto f = std::make_shared<F>();
    c->add_option("container", f->ref)->required();
    c->add_option("repository", f->repo, "REPOSITORY[:TAG]");
    c->add_option("-a,--author", f->author, "Author");
    c->add_option("-m,--message", f->message, "Commit message");
    c->add_option("-c,--change", f->changes, "Apply Dockerfile instruction to the created image");
    c->add_option("-p,--pause", f->pause, "Pause container during commit")->capture_default_str();
    c->callback([f, &g] {
      engine::ContainerEngine eng(g.root, g.state);
      std::cout << eng.commit(f->ref, f->repo, f->author, f->message, f->pause, f->changes) << "\n";
    });
  };
  auto add_import = [&](CLI::App& parent) {
    auto* c = parent.add_subcommand("import", "Import the contents from a tarball to create a filesystem image");
    struct F {
      std::string file, repo, message;
      std::vector<std::string> changes;
    };
    auto f = std::make_shared<F>();
    c->add_option("file", f->file, "file|- (a URL is not supported)")->required();
    c->add_option("repository", f->repo, "REPOSITORY[:TAG]");
    c->add_option("-m,--message", f->message, "Set commit message for imported image");
    c->add_option("-c,--change", f->changes, "Apply Dockerfile instruction to the created image (CMD, ENTRYPOINT, ENV, WORKDIR, USER)");
    c->callback([f, &g] {
      image::ImportOptions o;
      if (!f->repo.empty()) o.refs.push_back(f->repo);
      o.comment = f->message.empty() ? "Imported from " + f->file : f->message;
      for (auto& ch : f->changes) {
        try {
          image::apply_import_change(o.config, ch);
        } catch (const Error& e) {
          throw ExitStatus{1, e.what()};
        }
      }
      UniqueFd in;
      int fd = STDIN_FILENO;
      if (f->file != "-") {
        if (f->file.find("://") != std::string::npos)
          throw ExitStatus{1, "import from a URL is not supported (download it first)"};
        in.reset(::open(f->file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!in) throw_errno("open " + f->file);
        fd = in.get();
      }
      image::ImageStore store(g.root);
      std::cout << image::import_rootfs(store, fd, o).id << "\n";
    });
  };
  add_cp(app);
  add_diff(app);
  add_export(app);
  add_commit(app);
  add_import(app);
  if (CLI::App* ct = find_subcommand(app, "container")) {
    add_cp(*ct);
    add_diff(*ct);
    add_export(*ct);
    add_commit(*ct);
  }
  if (CLI::App* img = find_subcommand(app, "image")) add_import(*img);
}

const bool registered =
    add_commands({"cp", "diff", "export", "commit", "import", "container", "image"}, add_file_commands, true);

}  // namespace
}  // namespace berth::cli
