// A libnftables context: runs nft command text, returns what nft printed
// or throws with nft's own error message.
#pragma once

#include <string>

struct nft_ctx;

namespace berth::net {

class Nftables {
 public:
  Nftables();
  ~Nftables();
  Nftables(const Nftables&) = delete;
  Nftables& operator=(const Nftables&) = delete;

  // Runs `commands` (one transaction); throws "<what>: <nft's error>".
  std::string run(const std::string& commands, const std::string& what);
  // As run(), false instead of an error (a "delete" of what is gone).
  bool try_run(const std::string& commands);
  // As run(), nft's answer as JSON with rule handles (`list` commands):
  // what other tables hold, read without parsing nft's text.
  std::string run_json(const std::string& commands, const std::string& what);

 private:
  nft_ctx* ctx_;
};

}  // namespace berth::net
