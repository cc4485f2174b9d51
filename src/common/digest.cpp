#include "common/digest.hpp"

#include <openssl/evp.h>

#include "common/error.hpp"

namespace berth {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1)
    throw Error("initialise sha256");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t len) {
  if (len && EVP_DigestUpdate(ctx_->md, data, len) != 1) throw Error("update sha256");
}

std::string Sha256::hex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_->md, out, &n) != 1) throw Error("finish sha256");
  static const char* digits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (unsigned i = 0; i < n; ++i) {
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
