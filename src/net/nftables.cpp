#include "net/nftables.hpp"

#include <nftables/libnftables.h>

#include "common/error.hpp"

namespace berth::net {

Nftables::Nftables() : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
  if (!ctx_) throw Error("nftables: cannot make a context");
  nft_ctx_buffer_output(ctx_);
  nft_ctx_buffer_error(ctx_);
}

Nftables::~Nftables() { nft_ctx_free(ctx_); }

std::string Nftables::run(const std::string& commands, const std::string& what) {
  nft_ctx_get_output_buffer(ctx_);
  if (nft_run_cmd_from_buffer(ctx_, commands.c_str()) != 0) {
    std::string err = nft_ctx_get_error_buffer(ctx_);
    // nft explains over several lines (the command, a caret): the first says why.
    auto nl = err.find('\n');
    if (nl != std::string::npos) err.resize(nl);
    if (err.rfind("Error: ", 0) == 0) err.erase(0, 7);
    throw Error(what + ": nftables: " + err);
  }
  return nft_ctx_get_output_buffer(ctx_);
}

std::string Nftables::run_json(const std::string& commands, const std::string& what) {
  unsigned flags = nft_ctx_output_get_flags(ctx_);
  nft_ctx_output_set_flags(ctx_, flags | NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
  try {
    std::string out = run(commands, what);
    nft_ctx_output_set_flags(ctx_, flags);
    return out;
  } catch (...) {
    nft_ctx_output_set_flags(ctx_, flags);
    throw;
  }
}

bool Nftables::try_run(const std::string& commands) {
  bool ok = nft_run_cmd_from_buffer(ctx_, commands.c_str()) == 0;
  // Drains both buffers: a later run() returns only its own output.
  nft_ctx_get_error_buffer(ctx_);
  nft_ctx_get_output_buffer(ctx_);
  return ok;
}

}  // namespace berth::net
