// SHA-256 digests in the "sha256:<64 hex>" form the OCI image spec uses.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace berth {

// Incremental SHA-256 (OpenSSL); feed with update(), read with hex().
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, size_t len);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Finishes the hash: 64 lowercase hex chars. Call once.
  std::string hex();
  // "sha256:" + hex().
  std::string digest() { return "sha256:" + hex(); }

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string sha256_hex(std::string_view data);
inline std::string sha256_digest(std::string_view data) { return "sha256:" + sha256_hex(data); }

// True for "sha256:" followed by 64 lowercase hex chars.
bool is_sha256_digest(std::string_view d);
// Throws InvalidArgument unless is_sha256_digest(d); returns the hex part.
std::string digest_hex(std::string_view d);
// True for 64 lowercase hex chars.
bool is_sha256_hex(std::string_view h);

}  // namespace berth
