// Pull and push progress drawn as docker does: on a terminal a line per
// layer, redrawn in place with a bar; otherwise each change of status as a
// plain line (no byte counts).
#pragma once

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <string>
#include <algorithm>

#include "image/image_store.hpp"
#include "image/registry_request.hpp"

namespace berth::cli {

using image::ProgressEvent;
using Clock = std::chrono::steady_clock;

// Docker's "[=====>     ]  1.2MB/20MB".
inline std::string bar(int64_t cur, int64_t total) {
  if (total <= 0) return image::human_size(cur);
  constexpr int kWidth = 50;
  int done = static_cast<int>(kWidth * std::min<int64_t>(cur, total) / total);
  std::string b = "[" + std::string(done, '=') + (done < kWidth ? ">" : "") +
                  std::string(std::max(0, kWidth - done - 1), ' ') + "]";
  return b + " " + image::human_size(cur) + "/" + image::human_size(total);
}

class ProgressView {
 public:
  ProgressView(bool quiet, std::ostream& out)
      : quiet_(quiet), tty_(::isatty(&out == &std::cerr ? STDERR_FILENO : STDOUT_FILENO)), out_(out) {}

  void operator()(const ProgressEvent& e) {
    if (quiet_) return;
    bool bytes = e.status == "Downloading" || e.status == "Pushing" || e.status == "Extracting";
    if (e.id.empty()) {
      out_ << e.status << "\n" << std::flush;
      ++lines_;
      return;
    }
    auto it = rows_.find(e.id);
    if (!tty_) {
      // Plain lines: each change of status once, no byte counts.
      if (bytes && it != rows_.end() && it->second.status == e.status) return;
      rows_[e.id] = {0, e.status, {}};
      out_ << e.id << ": " << e.status << "\n" << std::flush;
      return;
    }
    std::string text = e.id + ": " + e.status + (bytes && e.total > 0 ? " " + bar(e.current, e.total) : "");
    if (it == rows_.end()) {
      rows_[e.id] = {lines_, e.status, Clock::now()};
      out_ << text << "\n" << std::flush;
      ++lines_;
      return;
    }
    auto now = Clock::now();
    if (bytes && it->second.status == e.status && now - it->second.drawn < std::chrono::milliseconds(100) &&
        e.current < e.total)
      return;
    it->second.status = e.status;
    it->second.drawn = now;
    int up = lines_ - it->second.line;
    out_ << "\x1b[" << up << "A\r\x1b[2K" << text << "\x1b[" << up << "B\r" << std::flush;
  }

 private:
  struct Row {
    int line;
    std::string status;
    Clock::time_point drawn;
  };
  bool quiet_, tty_;
  std::ostream& out_;
  int lines_ = 0;
  std::map<std::string, Row> rows_;
};

}  // namespace berth::cli
