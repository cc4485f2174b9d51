#include "build/builder.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "build/copy_step.hpp"
#include "build/source_tree.hpp"
#include "build/image_state.hpp"
#include "build/run_mounts.hpp"
#include "build/run_step.hpp"
#include "common/clock.hpp"
#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "dockerfile/dockerfile.hpp"
#include "dockerfile/shell_words.hpp"
#include "engine/container_engine.hpp"
#include "engine/registry_ops.hpp"
#include "image/reference.hpp"

namespace berth::build {

using dockerfile::Instruction;
using dockerfile::Vars;
using nlohmann::json;

namespace {

// A stage index written in digits; SIZE_MAX (no stage) if it has too many
// to be one (std::stoul threw out_of_range, "berth: stoul", for 10^23).
size_t stage_number(const std::string& digits) { return digits.size() > 9 ? SIZE_MAX : std::stoul(digits); }


std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string o;
  for (size_t i = 0; i < v.size(); ++i) o += (i ? sep : "") + v[i];
  return o;
}

// "--name=value" -> {name, value}; "--name" -> {name, ""}.
std::pair<std::string, std::string> split_flag(const std::string& f) {
  std::string body = f.substr(2);
  auto eq = body.find('=');
  if (eq == std::string::npos) return {body, ""};
  return {body.substr(0, eq), body.substr(eq + 1)};
}

struct Stage {
  std::string name;  // lower case, "" if none
  size_t index = 0;
  const Instruction* from = nullptr;
  std::vector<const Instruction*> steps;
  std::optional<ImageState> result;
};

class Builder {
 public:
  Builder(engine::ContainerEngine& eng, const BuildRequest& req, const ProgressFn& p)
      : eng_(eng), req_(req), progress_(p), cache_(eng.images()) {}

  BuildResult run();

 private:
  struct Ctx {
    Stage* stage = nullptr;
    ImageState state;
    Vars args;  // ARGs declared in this stage, with values
    std::vector<std::string> arg_order;
    std::vector<std::string> shell = {"/bin/sh", "-c"};
    bool cmd_set = false;
  };

  void say(Progress::Kind k, const std::string& text) {
    if (progress_) progress_({k, text});
  }
  std::string where(const Instruction& in) const { return df_.name + ":" + std::to_string(in.line); }

  void read_dockerfile();
  void split_stages();
  std::vector<size_t> needed_stages();
  void run_stage(Stage& s);
  void dispatch(Ctx& c, const Instruction& in);
  void step(Ctx& c, const std::string& key_text, const std::function<void(ImageState&)>& make);

  Vars vars(const Ctx& c) const;
  std::string expand(const Ctx& c, const std::string& w) const { return dockerfile::expand_word(w, vars(c), df_.escape); }
  std::vector<std::string> env_list(const Ctx& c) const;
  std::string nop(const Ctx& c, const std::string& text) const { return join(c.shell, " ") + " #(nop) " + text; }
  void check_flags(const Instruction& in, std::initializer_list<const char*> allowed) const;
  std::string flag(const Instruction& in, const std::string& name) const;

  image::ImageRecord base_image(const std::string& ref);
  void do_from(Ctx& c, const Instruction& in);
  void do_run(Ctx& c, const Instruction& in);
  ImageState state_for_from(const Ctx& c, const std::string& from);
  void do_copy(Ctx& c, const Instruction& in, bool add);
  void do_config(Ctx& c, const Instruction& in);
  void do_arg(Ctx& c, const Instruction& in);
  void do_healthcheck(Ctx& c, const Instruction& in);

  engine::ContainerEngine& eng_;
  const BuildRequest& req_;
  const ProgressFn& progress_;
  BuildCache cache_;
  dockerfile::Dockerfile df_;
  std::vector<const Instruction*> meta_args_;
  Vars global_args_;
  std::vector<Stage> stages_;
  std::set<std::string> used_build_args_;
  int step_no_ = 0, step_total_ = 0;
  std::optional<SourceTree> context_;
  std::vector<std::string> made_;  // intermediate images recorded by this build
  std::set<std::string> pulled_;    // references pulled by this build (once each)
 public:
  // Intermediate images go when the build ends (their blobs at the next GC).
  ~Builder() {
    for (auto& id : made_) {
      if (id == final_id_) continue;
      try {
        eng_.images().forget_if_unused(id);
      } catch (...) {
      }
    }
  }
 private:
  std::string final_id_;
};

void Builder::read_dockerfile() {
  std::string text, name = "Dockerfile";
  if (req_.dockerfile_text) {
    text = *req_.dockerfile_text;
  } else {
    std::string p = req_.dockerfile.empty() ? "Dockerfile" : req_.dockerfile;
    std::string full = p[0] == '/' ? p : req_.context_dir + "/" + p;
    if (req_.dockerfile.empty() && !fs::exists(full) && fs::exists(req_.context_dir + "/dockerfile"))
      full = req_.context_dir + "/dockerfile";
    try {
      text = fs::read_file(full);
    } catch (Error& e) {
      throw Error("unable to read the Dockerfile " + full + ": " + e.message(), ErrorKind::NotFound);
    }
    name = p.substr(p.rfind('/') == std::string::npos ? 0 : p.rfind('/') + 1);
  }
  df_ = dockerfile::parse_dockerfile(text, name);
  for (auto& w : df_.warnings) say(Progress::Kind::Warning, "[WARNING]: " + w + "\n");
  if (!df_.syntax.empty())
    say(Progress::Kind::Status, "# syntax=" + df_.syntax + ": noted; berth reads the Dockerfile with its own front end\n");
}

void Builder::split_stages() {
  for (auto& in : df_.instructions) {
    if (in.keyword == "from") {
      Stage s;
      s.index = stages_.size();
      s.from = &in;
      auto& a = in.args;
      if (a.size() == 3 && lower(a[1]) == "as") {
        s.name = lower(a[2]);
        for (auto& o : stages_)
          if (o.name == s.name) throw Error(where(in) + ": duplicate name for the stage: " + a[2], ErrorKind::InvalidArgument);
      } else if (a.size() != 1) {
        throw Error(where(in) + ": FROM requires either one or three arguments (FROM image [AS name])",
                    ErrorKind::InvalidArgument);
      }
      stages_.push_back(std::move(s));
    } else if (stages_.empty()) {
      if (in.keyword != "arg")
        throw Error(where(in) + ": no build stage in current context (" + upper(in.keyword) + " before FROM)",
                    ErrorKind::InvalidArgument);
      meta_args_.push_back(&in);
    } else {
      stages_.back().steps.push_back(&in);
    }
  }
  if (stages_.empty()) throw Error(df_.name + ": no FROM instruction: nothing to build", ErrorKind::InvalidArgument);
  // ARGs before the first FROM: for FROM lines, and as defaults for a stage's `ARG NAME`.
  for (auto* in : meta_args_)
    for (auto& a : in->args) {
      auto eq = a.find('=');
      std::string k = a.substr(0, eq);
      if (auto it = req_.build_args.find(k); it != req_.build_args.end()) {
        global_args_[k] = it->second;
        used_build_args_.insert(k);
      } else if (eq != std::string::npos) {
        global_args_[k] = dockerfile::expand_word(a.substr(eq + 1), global_args_, df_.escape);
      }
    }
}

// The target stage and the stages it reads (FROM stage, COPY --from=stage).
std::vector<size_t> Builder::needed_stages() {
  size_t target = stages_.size() - 1;
  if (!req_.target.empty()) {
    bool found = false;
    for (auto& s : stages_)
      if (s.name == lower(req_.target)) target = s.index, found = true;
    if (!found) throw Error("target stage \"" + req_.target + "\" could not be found", ErrorKind::InvalidArgument);
  }
  auto stage_named = [&](const std::string& ref, size_t before) -> std::optional<size_t> {
    std::string r = lower(ref);
    for (size_t i = 0; i < before; ++i)
      if (stages_[i].name == r) return i;
    if (!r.empty() && r.find_first_not_of("0123456789") == std::string::npos) {
      size_t n = stage_number(r);
      if (n < before) return n;
    }
    return std::nullopt;
  };
  std::set<size_t> need{target};
  for (size_t i = target + 1; i-- > 0;) {
    if (!need.count(i)) continue;
    auto& s = stages_[i];
    std::string base = dockerfile::expand_word(s.from->args[0], global_args_, df_.escape);
    if (auto d = stage_named(base, i)) need.insert(*d);
    for (auto* in : s.steps)
      for (auto& f : in->flags) {
        auto [k, v] = split_flag(f);
        if (k == "mount" && in->keyword == "run") {
          // RUN --mount=...,from=STAGE: that stage is needed too.
          std::string from;
          for (size_t b = 0; b <= v.size();) {
            size_t e = v.find(',', b);
            if (e == std::string::npos) e = v.size();
            if (v.compare(b, 5, "from=") == 0) from = v.substr(b + 5, e - b - 5);
            b = e + 1;
          }
          if (from.empty()) continue;
          k = "from", v = from;
        } else if (k != "from" || (in->keyword != "copy" && in->keyword != "add")) {
          continue;
        }
        if (v.find('$') != std::string::npos) {
          for (size_t j = 0; j < i; ++j) need.insert(j);  // a computed --from may name any earlier stage
        } else if (auto d = stage_named(v, i)) {
          need.insert(*d);
        }
      }
  }
  return {need.begin(), need.end()};
}

Vars Builder::vars(const Ctx& c) const {
  Vars v = c.args;
  auto& cfg = c.state.config.at("config");
  if (cfg.contains("Env") && cfg["Env"].is_array())
    for (auto& e : cfg["Env"]) {
      std::string s = e.get<std::string>();
      auto eq = s.find('=');
      v[s.substr(0, eq)] = eq == std::string::npos ? "" : s.substr(eq + 1);
    }
  return v;
}

// RUN's environment: the image's ENV, plus the ARGs ENV does not set.
std::vector<std::string> Builder::env_list(const Ctx& c) const {
  std::vector<std::string> env;
  std::set<std::string> keys;
  auto& cfg = c.state.config.at("config");
  if (cfg.contains("Env") && cfg["Env"].is_array())
    for (auto& e : cfg["Env"]) {
      std::string s = e.get<std::string>();
      keys.insert(s.substr(0, s.find('=')));
      env.push_back(s);
    }
  for (auto& k : c.arg_order)
    if (!keys.count(k) && c.args.count(k)) env.push_back(k + "=" + c.args.at(k));
  return env;
}

void Builder::check_flags(const Instruction& in, std::initializer_list<const char*> allowed) const {
  for (auto& f : in.flags) {
    auto name = split_flag(f).first;
    if (std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return name == a; })) continue;
    std::string takes;
    for (auto* a : allowed) takes += (takes.empty() ? "--" : ", --") + std::string(a);
    throw Error(where(in) + ": unknown flag: --" + name + " (" + upper(in.keyword) + " takes " +
                    (takes.empty() ? "no flags" : takes) + ")",
                ErrorKind::InvalidArgument);
  }
}

std::string Builder::flag(const Instruction& in, const std::string& name) const {
  std::string v;
  for (auto& f : in.flags)
    if (auto [k, val] = split_flag(f); k == name) v = val;
  return v;
}

void Builder::step(Ctx& c, const std::string& key_text, const std::function<void(ImageState&)>& make) {
  int64_t t0 = monotonic_ms();
  std::string key = sha256_digest(c.state.id() + "\n" + key_text);
  std::optional<ImageState> hit;
  if (!req_.no_cache) hit = cache_.find(key);
  if (hit) {
    c.state = std::move(*hit);
  } else {
    ImageState next = c.state;
    make(next);
    cache_.put(key, next);
    c.state = std::move(next);
  }
  char t[32];
  std::snprintf(t, sizeof t, "%.3fs", static_cast<double>(monotonic_ms() - t0) / 1000.0);
  say(Progress::Kind::Status, std::string(hit ? " ---> Using cache\n" : "") + " ---> " +
                                  image::short_id(c.state.id()) + " " + (hit ? "CACHED " : "") + t + "\n");
}

void Builder::run_stage(Stage& s) {
  Ctx c;
  c.stage = &s;
  do_from(c, *s.from);
  // The base image's ONBUILD triggers run first, then are not inherited.
  auto& cfg = c.state.run_config();
  if (cfg.contains("OnBuild") && cfg["OnBuild"].is_array() && !cfg["OnBuild"].empty()) {
    std::vector<std::string> triggers;
    for (auto& t : cfg["OnBuild"]) triggers.push_back(t.get<std::string>());
    cfg.erase("OnBuild");
    c.state.image_id.clear();  // no longer the base image as it is
    c.state.known_id.clear();
    say(Progress::Kind::Status, " ---> Executing " + std::to_string(triggers.size()) + " build trigger" +
                                    (triggers.size() == 1 ? "" : "s") + "\n");
    for (auto& t : triggers) {
      Instruction in;
      try {
        in = dockerfile::parse_instruction_line(t, df_.escape, "ONBUILD trigger");
      } catch (Error& e) {
        throw e.wrap(where(*s.from));
      }
      in.line = s.from->line;
      say(Progress::Kind::Step, " ---> Trigger: " + in.original + "\n");
      dispatch(c, in);
    }
  }
  for (auto* in : s.steps) {
    say(Progress::Kind::Step, "Step " + std::to_string(++step_no_) + "/" + std::to_string(step_total_) + " : " +
                                  in->original + "\n");
    dispatch(c, *in);
  }
  s.result = c.state;
}

void Builder::dispatch(Ctx& c, const Instruction& in) {
  if (req_.cancel_fd >= 0) {
    pollfd p{req_.cancel_fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) throw Error(where(in) + ": build cancelled", ErrorKind::FailedPrecondition);
  }
  try {
    const auto& k = in.keyword;
    if (k == "run") do_run(c, in);
    else if (k == "copy") do_copy(c, in, false);
    else if (k == "add") do_copy(c, in, true);
    else if (k == "arg") do_arg(c, in);
    else if (k == "healthcheck") do_healthcheck(c, in);
    else if (k == "from") throw Error("FROM inside a stage", ErrorKind::Internal);
    else do_config(c, in);
  } catch (Error& e) {
    if (e.message().starts_with(df_.name + ":")) throw;
    throw e.wrap(where(in));
  }
}

// An image FROM or COPY --from names: the store's, pulled first when the
// store lacks it or the build asked for --pull (once per build and
// reference). The pull goes through the engine's registry_ops, as `berth
// pull`, and its progress becomes status lines of the build.
image::ImageRecord Builder::base_image(const std::string& ref) {
  auto& store = eng_.images();
  std::optional<image::ImageRecord> rec = store.find(ref);
  bool by_id = ref.starts_with("sha256:") || (rec && rec->id.substr(7).starts_with(ref));
  if ((rec && !req_.pull) || by_id || pulled_.count(ref)) {
    if (!rec) throw Error("image " + ref + " is not in the store", ErrorKind::NotFound);
    return *rec;
  }
  if (!image::is_valid_reference(ref))
    throw Error("image " + ref + ": invalid reference format", ErrorKind::InvalidArgument);
  image::PullRequest pr;
  pr.reference = ref;
  pr.access = req_.registry_access;
  std::map<std::string, std::string> last;  // a line per layer and status, not per byte
  auto relay = [&](const image::ProgressEvent& e) {
    if (e.status == "Downloading" || e.status == "Extracting") return;
    if (std::exchange(last[e.id], e.status) == e.status) return;
    say(Progress::Kind::Status, (e.id.empty() ? "" : e.id + ": ") + e.status + "\n");
  };
  if (!rec) say(Progress::Kind::Status, "Unable to find image '" + ref + "' locally\n");
  image::PullResult res;
  try {
    res = engine::pull_image(store.root(), pr, relay);
  } catch (const Error& e) {
    throw Error("image " + ref + " is not in the store and could not be pulled: " + e.message(), e.kind());
  }
  pulled_.insert(ref);
  if (res.images.empty()) throw Error("pull of " + ref + " gave no image", ErrorKind::Internal);
  auto& got = res.images[0];  // the helper said docker's "Status: ..." line
  auto now = store.find(got.id);
  if (!now) throw Error("pulled image " + got.id + " is not in the store", ErrorKind::Internal);
  return *now;
}

void Builder::do_from(Ctx& c, const Instruction& in) {
  say(Progress::Kind::Step, "Step " + std::to_string(++step_no_) + "/" + std::to_string(step_total_) + " : " +
                                in.original + "\n");
  check_flags(in, {"platform"});
  try {
    std::string platform = dockerfile::expand_word(flag(in, "platform"), global_args_, df_.escape);
    if (platform.empty()) platform = req_.platform;
    if (!platform.empty() && platform != "linux/amd64" && platform != "linux/x86_64" && platform != "linux")
      throw Error("platform " + platform + " is not supported: berth builds linux/amd64 images", ErrorKind::Unsupported);
    std::string base = dockerfile::expand_word(in.args[0], global_args_, df_.escape);
    if (base.empty()) throw Error("FROM names no image (an empty ARG?)", ErrorKind::InvalidArgument);
    std::optional<size_t> stage;
    for (size_t i = 0; i < c.stage->index; ++i)
      if (stages_[i].name == lower(base)) stage = i;
    if (stage) {
      c.state = *stages_[*stage].result;
    } else if (lower(base) == "scratch") {
      c.state = scratch_state();
    } else {
      c.state = state_of_image(eng_.images(), base_image(base));
    }
    // Global ARGs a stage may redeclare with `ARG NAME`.
  } catch (Error& e) {
    throw e.wrap(where(in));
  }
  if (!c.state.run_config().is_object()) c.state.run_config() = json::object();
  say(Progress::Kind::Status, " ---> " + image::short_id(c.state.id()) + "\n");
}

void Builder::do_arg(Ctx& c, const Instruction& in) {
  check_flags(in, {});
  std::vector<std::string> shown;
  for (auto& a : in.args) {
    auto eq = a.find('=');
    std::string k = a.substr(0, eq);
    if (k.empty()) throw Error("ARG names can not be blank", ErrorKind::InvalidArgument);
    std::optional<std::string> v;
    if (auto it = req_.build_args.find(k); it != req_.build_args.end()) {
      v = it->second;
      used_build_args_.insert(k);
    } else if (eq != std::string::npos) {
      v = expand(c, a.substr(eq + 1));
    } else if (auto g = global_args_.find(k); g != global_args_.end()) {
      v = g->second;
    }
    if (std::find(c.arg_order.begin(), c.arg_order.end(), k) == c.arg_order.end()) c.arg_order.push_back(k);
    if (v) c.args[k] = *v;
    else c.args.erase(k);
    shown.push_back(eq == std::string::npos ? k : k + "=" + a.substr(eq + 1));
  }
  std::string text = "ARG " + join(shown, " ");
  step(c, text, [&](ImageState& s) { s.add_history(nop(c, " " + text), std::nullopt); });
}

// A stage (by name or index, before the current one) or an image, for
// RUN --mount=type=bind,from=.
ImageState Builder::state_for_from(const Ctx& c, const std::string& from) {
  for (size_t i = 0; i < c.stage->index; ++i)
    if (stages_[i].name == lower(from) && stages_[i].result) return *stages_[i].result;
  if (!from.empty() && from.find_first_not_of("0123456789") == std::string::npos) {
    size_t n = stage_number(from);
    if (n >= c.stage->index || !stages_[n].result)
      throw Error("--mount from=" + from + ": refers to the current or a later build stage", ErrorKind::InvalidArgument);
    return *stages_[n].result;
  }
  return state_of_image(eng_.images(), base_image(from));
}

void Builder::do_run(Ctx& c, const Instruction& in) {
  check_flags(in, {"network", "mount", "security"});
  std::string network = req_.network;
  if (!flag(in, "security").empty() && flag(in, "security") != "sandbox")
    throw Error("RUN --security=" + flag(in, "security") + " is not supported", ErrorKind::Unsupported);
  if (auto n = flag(in, "network"); !n.empty()) {
    if (n == "default") n = "";
    if (!n.empty() && n != "none" && n != "host")
      throw Error("RUN --network=" + n + ": only none, host and default", ErrorKind::InvalidArgument);
    network = n;
  }
  std::string wd = c.state.run_config().value("WorkingDir", std::string("/"));
  std::vector<RunMount> mounts;
  for (auto& f : in.flags)
    if (auto [k, v] = split_flag(f); k == "mount") mounts.push_back(parse_run_mount(expand(c, v), wd));
  MountContext mc;
  mc.store = &eng_.images();
  mc.context_dir = req_.context_dir;
  mc.secrets = &req_.secrets;
  mc.made = &made_;
  mc.state_of = [this, &c](const std::string& from) { return state_for_from(c, from); };
  for (auto& m : mounts)
    if (m.type == "bind" && m.from.empty() && !context_) context_.emplace(open_context(req_.context_dir));
  mc.context = context_ ? &*context_ : nullptr;

  std::vector<std::string> argv;
  std::string shown;
  std::string script_file, script;  // `RUN <<EOF` whose body starts with #!: run as a program
  if (in.json) {
    argv = in.args;
    shown = join(argv, " ");
  } else {
    script = in.rest;
    if (in.heredocs.size() == 1 && dockerfile::split_words(in.rest, df_.escape).size() == 1) {
      script = in.heredocs[0].content;  // `RUN <<EOF`: the body is the script
      if (script.starts_with("#!")) {
        // As BuildKit: the body is a file the kernel runs with its interpreter.
        script_file = "/dev/pipes/" + in.heredocs[0].name;
      }
    } else {
      for (auto& h : in.heredocs) script += "\n" + h.content + h.name;
    }
    if (script_file.empty()) {
      argv = c.shell;
      argv.push_back(script);
      shown = join(c.shell, " ") + " " + script;
    } else {
      argv = {script_file};
      shown = script;
    }
  }
  std::vector<std::string> env = env_list(c);
  // docker's history shows the ARGs a RUN saw: "|2 A=1 B=2 /bin/sh -c ..."
  std::vector<std::string> args_seen;
  for (auto& k : c.arg_order)
    if (c.args.count(k)) args_seen.push_back(k + "=" + c.args.at(k));
  std::string created_by = args_seen.empty() ? shown : "|" + std::to_string(args_seen.size()) + " " + join(args_seen, " ") + " " + shown;
  json key = {{"run", argv}, {"env", env}, {"network", network}};
  if (!script_file.empty()) key["script"] = script;
  for (auto& m : mounts) key["mounts"].push_back(mount_key(m, mc));
  step(c, json_text(key), [&](ImageState& s) {
    PreparedMounts prepared(mounts, mc);
    if (!script_file.empty()) prepared.add_script(script_file, script);
    RunSpec spec{argv, env, network, req_.cancel_fd, prepared.requests, prepared.targets};
    int code = 0;
    try {
      auto layer = run_in_container(eng_, s, spec, [&](const std::string& out) { say(Progress::Kind::Output, out); }, &code, &made_);
      s.add_history(created_by, layer);
    } catch (Error& e) {
      if (code != 0)
        throw Error(where(in) + ": RUN " + (in.json ? json_text(json(in.args)) : in.rest) + ": the command returned a non-zero code: " +
                        std::to_string(code),
                    ErrorKind::FailedPrecondition);
      throw;
    }
  });
}

void Builder::do_healthcheck(Ctx& c, const Instruction& in) {
  check_flags(in, {"interval", "timeout", "start-period", "start-interval", "retries"});
  json hc;
  if (in.args[0] == "NONE") {
    hc = {{"Test", {"NONE"}}};
  } else {
    json test = json::array();
    if (in.json) {
      test.push_back("CMD");
      for (size_t i = 1; i < in.args.size(); ++i) test.push_back(in.args[i]);
    } else {
      test = {"CMD-SHELL", in.args.size() > 1 ? in.args[1] : ""};
    }
    hc["Test"] = test;
    for (auto [flag_name, field] : {std::pair{"interval", "Interval"}, {"timeout", "Timeout"},
                                    {"start-period", "StartPeriod"}, {"start-interval", "StartInterval"}}) {
      std::string v = flag(in, flag_name);
      if (v.empty()) continue;
      int64_t ns = engine::parse_duration_ns(v, std::string("--") + flag_name);
      if (ns < 1000000 && ns != 0)
        throw Error(std::string("--") + flag_name + " cannot be less than 1ms", ErrorKind::InvalidArgument);
      hc[field] = ns;
    }
    if (auto r = flag(in, "retries"); !r.empty()) {
      int n = 0;
      try {
        n = std::stoi(r);
      } catch (...) {
        throw Error("--retries " + r + ": not a number", ErrorKind::InvalidArgument);
      }
      if (n < 0) throw Error("--retries cannot be negative", ErrorKind::InvalidArgument);
      hc["Retries"] = n;
    }
  }
  std::string text = "HEALTHCHECK " + json_text(hc);
  step(c, text, [&](ImageState& s) {
    s.run_config()["Healthcheck"] = hc;
    s.add_history(nop(c, " " + in.original), std::nullopt);
  });
}

void Builder::do_config(Ctx& c, const Instruction& in) {
  check_flags(in, {});
  const auto& k = in.keyword;
  std::function<void(ImageState&)> change;
  std::string text;  // the instruction with its resolved arguments
  if (k == "env" || k == "label") {
    std::vector<std::pair<std::string, std::string>> kv;
    for (size_t i = 0; i + 1 < in.args.size(); i += 2) kv.emplace_back(expand(c, in.args[i]), expand(c, in.args[i + 1]));
    text = upper(k);
    for (auto& [a, b] : kv) text += " " + a + "=" + b;
    change = [kv, k](ImageState& s) {
      auto& cfg = s.run_config();
      for (auto& [a, b] : kv) {
        if (k == "label") {
          cfg["Labels"][a] = b;
          continue;
        }
        json env = cfg.contains("Env") && cfg["Env"].is_array() ? cfg["Env"] : json::array();
        bool replaced = false;
        for (auto& e : env)
          if (e.get<std::string>().substr(0, e.get<std::string>().find('=')) == a) e = a + "=" + b, replaced = true;
        if (!replaced) env.push_back(a + "=" + b);
        cfg["Env"] = env;
      }
    };
  } else if (k == "workdir") {
    std::string dir = expand(c, in.args.size() == 1 ? in.args[0] : in.rest);
    std::string cur = c.state.run_config().value("WorkingDir", std::string("/"));
    if (cur.empty()) cur = "/";
    std::string full = dockerfile::clean_path(dir.starts_with("/") ? dir : cur + "/" + dir);
    text = "WORKDIR " + full;
    step(c, text, [&](ImageState& s) {
      auto layer = workdir_layer(eng_.images(), s, full, &made_);
      s.run_config()["WorkingDir"] = full;
      s.add_history(nop(c, " " + in.original), layer);
    });
    return;
  } else if (k == "user") {
    std::string u = expand(c, in.args[0]);
    text = "USER " + u;
    change = [u](ImageState& s) { s.run_config()["User"] = u; };
  } else if (k == "expose") {
    std::vector<std::string> ports;
    for (auto& a : in.args) {
      std::string p = expand(c, a), proto = "tcp";
      if (auto sl = p.find('/'); sl != std::string::npos) proto = lower(p.substr(sl + 1)), p = p.substr(0, sl);
      if (proto != "tcp" && proto != "udp" && proto != "sctp") throw Error("invalid proto: " + proto, ErrorKind::InvalidArgument);
      int lo = 0, hi = 0;
      char extra = 0;
      if (std::sscanf(p.c_str(), "%d-%d%c", &lo, &hi, &extra) == 2) {
      } else if (std::sscanf(p.c_str(), "%d%c", &lo, &extra) == 1) {
        hi = lo;
      } else {
        throw Error("invalid containerPort: " + p, ErrorKind::InvalidArgument);
      }
      if (lo < 1 || hi > 65535 || lo > hi) throw Error("invalid containerPort: " + p, ErrorKind::InvalidArgument);
      for (int x = lo; x <= hi; ++x) ports.push_back(std::to_string(x) + "/" + proto);
    }
    text = "EXPOSE " + join(ports, " ");
    change = [ports](ImageState& s) {
      for (auto& p : ports) s.run_config()["ExposedPorts"][p] = json::object();
    };
  } else if (k == "volume") {
    std::vector<std::string> vols;
    for (auto& a : in.args) {
      std::string v = in.json ? a : expand(c, a);
      if (v.empty()) throw Error("VOLUME specified can not be an empty string", ErrorKind::InvalidArgument);
      vols.push_back(v);
    }
    text = "VOLUME " + json_text(json(vols));
    change = [vols](ImageState& s) {
      for (auto& v : vols) s.run_config()["Volumes"][v] = json::object();
    };
  } else if (k == "stopsignal") {
    std::string sig = expand(c, in.args[0]);
    engine::parse_signal(sig);
    text = "STOPSIGNAL " + sig;
    change = [sig](ImageState& s) { s.run_config()["StopSignal"] = sig; };
  } else if (k == "cmd" || k == "entrypoint") {
    json v = json::array();
    if (in.json) v = in.args;
    else if (!in.args.empty()) {
      v = c.shell;
      v.push_back(in.rest);
    }
    std::string field = k == "cmd" ? "Cmd" : "Entrypoint";
    text = upper(k) + " " + json_text(v);
    bool reset_cmd = k == "entrypoint" && !c.cmd_set;  // an inherited CMD goes with a new ENTRYPOINT
    if (k == "cmd") c.cmd_set = true;
    change = [v, field, reset_cmd](ImageState& s) {
      if (v.empty() && field == "Entrypoint") s.run_config()[field] = nullptr;
      else s.run_config()[field] = v;
      if (reset_cmd) s.run_config()["Cmd"] = nullptr;
    };
  } else if (k == "shell") {
    c.shell = in.args;
    text = "SHELL " + json_text(json(in.args));
    change = [sh = in.args](ImageState& s) { s.run_config()["Shell"] = sh; };
  } else if (k == "maintainer") {
    std::string who = in.args[0];
    text = "MAINTAINER " + who;
    change = [who](ImageState& s) { s.config["author"] = who; };
  } else if (k == "onbuild") {
    std::string trigger = in.args[0];
    text = "ONBUILD " + trigger;
    change = [trigger](ImageState& s) {
      auto& cfg = s.run_config();
      if (!cfg.contains("OnBuild") || !cfg["OnBuild"].is_array()) cfg["OnBuild"] = json::array();
      cfg["OnBuild"].push_back(trigger);
    };
  } else {
    throw Error("unknown instruction: " + upper(k), ErrorKind::InvalidArgument);
  }
  std::string shown = k == "env" || k == "label" ? text : in.original;
  step(c, text, [&](ImageState& s) {
    change(s);
    s.add_history(nop(c, " " + shown), std::nullopt);
  });
}

void Builder::do_copy(Ctx& c, const Instruction& in, bool add) {
  if (add) check_flags(in, {"chown", "chmod", "checksum", "link", "keep-git-dir"});
  else check_flags(in, {"from", "chown", "chmod", "link"});
  CopyRequest r;
  r.add = add;
  r.chown = expand(c, flag(in, "chown"));
  r.chmod = expand(c, flag(in, "chmod"));
  r.checksum = expand(c, flag(in, "checksum"));
  std::string from = expand(c, flag(in, "from"));
  if (in.args.size() < 2 && in.heredocs.empty())
    throw Error(upper(in.keyword) + " requires at least two arguments, but only one was provided. Destination could not be determined.",
                ErrorKind::InvalidArgument);
  Vars v = vars(c);
  size_t hd = 0;
  for (size_t i = 0; i + 1 < in.args.size(); ++i) {
    const std::string& a = in.args[i];
    if (!in.json && hd < in.heredocs.size() && a.find("<<") != std::string::npos) {
      auto& h = in.heredocs[hd++];
      r.inline_files.push_back({h.name, h.expand ? dockerfile::expand_heredoc(h.content, v, df_.escape) : h.content});
      continue;
    }
    r.sources.push_back(in.json ? a : expand(c, a));
  }
  r.dest = in.json ? in.args.back() : expand(c, in.args.back());
  std::string wd = c.state.run_config().value("WorkingDir", std::string("/"));
  r.dest_is_dir = r.dest.ends_with("/") || r.dest.ends_with("/.");
  if (!r.dest.starts_with("/")) r.dest = (wd.empty() ? "/" : wd) + "/" + r.dest;

  // The source tree: the context, or a stage's / an image's filesystem.
  std::optional<ImageState> from_state;
  std::string from_key = "context";
  if (!from.empty()) {
    if (add) throw Error("ADD does not take --from", ErrorKind::InvalidArgument);
    std::optional<size_t> idx;
    for (size_t i = 0; i < c.stage->index; ++i)
      if (stages_[i].name == lower(from)) idx = i;
    if (!idx && from.find_first_not_of("0123456789") == std::string::npos) {
      size_t n = stage_number(from);
      if (n >= c.stage->index) throw Error("invalid from flag value " + from + ": refers to current or future build stage",
                                           ErrorKind::InvalidArgument);
      idx = n;
    }
    if (idx) {
      from_state = *stages_[*idx].result;
    } else {
      if (!image::is_valid_reference(from) && !eng_.images().find(from))
        throw Error("invalid from flag value " + from + ": no stage of that name and not an image reference",
                    ErrorKind::InvalidArgument);
      try {
        from_state = state_of_image(eng_.images(), base_image(from));
      } catch (Error& e) {
        throw e.wrap("invalid from flag value " + from);
      }
    }
    from_key = from_state->id();
  } else if (!context_) {
    context_.emplace(open_context(req_.context_dir));
  }
  CopySources src = resolve_copy_sources(r, from_state ? nullptr : &*context_, eng_.images().root());
  std::string text = json_text(json{{"op", upper(in.keyword)}, {"from", from_key}, {"sources", src.digest},
                                    {"dest", r.dest}, {"dir", r.dest_is_dir}, {"chown", r.chown}, {"chmod", r.chmod},
                                    {"checksum", r.checksum}});
  std::string created_by = nop(c, upper(in.keyword) + " " + src.digest.substr(0, 19) + " in " + r.dest + " ");
  step(c, text, [&](ImageState& s) {
    auto layer = copy_into_layer(eng_.images(), s, r, src, from_state ? &*from_state : nullptr,
                                 from_state ? nullptr : &*context_, &made_);
    s.add_history(created_by, layer);
  });
}

BuildResult Builder::run() {
  if (req_.context_dir.empty()) throw Error("no build context", ErrorKind::InvalidArgument);
  struct stat st;
  if (::stat(req_.context_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error("unable to prepare context: path \"" + req_.context_dir + "\" not found", ErrorKind::NotFound);
  std::vector<std::string> tags;
  for (auto& t : req_.tags) {
    auto ref = image::parse_reference(t);
    if (!ref.digest.empty()) throw Error("invalid tag " + t + ": a digest reference", ErrorKind::InvalidArgument);
    tags.push_back(ref.str());
  }
  // Layers written by a step stay unreferenced by any image until the end:
  // GC (which holds the lock exclusively) must wait for the build.
  auto lock = eng_.images().shared_lock();
  read_dockerfile();
  split_stages();
  auto need = needed_stages();
  for (auto i : need) step_total_ += 1 + static_cast<int>(stages_[i].steps.size());
  if (!req_.labels.empty()) ++step_total_;
  for (auto i : need) run_stage(stages_[i]);
  Stage& last = stages_[need.back()];
  Ctx c;
  c.stage = &last;
  c.state = *last.result;
  if (!req_.labels.empty()) {
    std::string text = "LABEL";
    for (auto& [k, v] : req_.labels) text += " " + k + "=" + v;
    say(Progress::Kind::Step, "Step " + std::to_string(++step_no_) + "/" + std::to_string(step_total_) + " : " + text + "\n");
    step(c, text, [&](ImageState& s) {
      for (auto& [k, v] : req_.labels) s.run_config()["Labels"][k] = v;
      s.add_history(nop(c, " " + text), std::nullopt);
    });
  }
  std::vector<std::string> unused;
  for (auto& [k, v] : req_.build_args)
    if (!used_build_args_.count(k)) unused.push_back(k);
  if (!unused.empty())
    say(Progress::Kind::Warning, "[Warning] One or more build-args [" + join(unused, " ") + "] were not consumed\n");
  auto rec = materialize(eng_.images(), c.state, tags);
  final_id_ = rec.id;
  say(Progress::Kind::Status, "Successfully built " + image::short_id(rec.id) + "\n");
  for (auto& t : tags) say(Progress::Kind::Status, "Successfully tagged " + image::parse_reference(t).familiar() + "\n");
  return {rec.id, tags};
}

}  // namespace

BuildResult build_image(engine::ContainerEngine& engine, const BuildRequest& req, const ProgressFn& progress) {
  Builder b(engine, req, progress);
  return b.run();
}

}  // namespace berth::build
