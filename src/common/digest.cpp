#include "common/digest.hpp"

// The low-level SHA256_* calls, deprecated in OpenSSL 3 in favour of EVP,
// run the same assembly (SHA-NI, AVX2) without EVP's first-use set-up:
// fetching the digest from the default provider cost 5.2 M instructions,
// a quarter of a `berth run --rm`'s own work (docs/performance.md,
// engine-run), for a hash over a few hundred bytes of image config.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "common/error.hpp"

namespace berth {

struct Sha256::Ctx {
  SHA256_CTX c;
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  if (SHA256_Init(&ctx_->c) != 1) throw Error("initialise sha256");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t len) {
  if (len && SHA256_Update(&ctx_->c, data, len) != 1) throw Error("update sha256");
}

std::string Sha256::hex() {
  unsigned char out[SHA256_DIGEST_LENGTH];
  if (SHA256_Final(out, &ctx_->c) != 1) throw Error("finish sha256");
  static const char* digits = "0123456789abcdef";
  std::string s(2 * SHA256_DIGEST_LENGTH, '0');
  for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    s[2 * i] = digits[out[i] >> 4];
    s[2 * i + 1] = digits[out[i] & 15];
  }
  return s;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex();
}

bool is_sha256_hex(std::string_view h) {
  if (h.size() != 64) return false;
  for (char c : h)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool is_sha256_digest(std::string_view d) {
  return d.starts_with("sha256:") && is_sha256_hex(d.substr(7));
}

std::string digest_hex(std::string_view d) {
  if (!is_sha256_digest(d))
    throw Error("invalid digest \"" + std::string(d) + "\" (want sha256:<64 hex>)",
                ErrorKind::InvalidArgument);
  return std::string(d.substr(7));
}

}  // namespace berth
