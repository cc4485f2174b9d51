// UTF-8 decoding with Go's rules (unicode/utf8), for code that must print
// or measure text the way docker's Go code does: an invalid byte decodes as
// U+FFFD and counts as one byte, so nothing ever stops on bad input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace berth::utf8 {

inline constexpr char32_t kRuneError = 0xFFFD;

// Decodes the rune at s[i] and advances i past it. An invalid or truncated
// sequence, an overlong form or a surrogate is kRuneError advancing one byte,
// as Go's utf8.DecodeRuneInString (callers tell the two apart by the advance).
inline char32_t decode(std::string_view s, size_t& i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    ++i;
    return c;
  }
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) {
    ++i;
    return kRuneError;
  }
  char32_t r = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) {
      ++i;
      return kRuneError;
    }
    r = (r << 6) | (b(i + k) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (r < kMin[n] || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) {
    ++i;
    return kRuneError;
  }
  i += n;
  return r;
}

// Appends r encoded; a surrogate or out-of-range value becomes U+FFFD.
inline void append(std::string& out, char32_t r) {
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = kRuneError;
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

// Runes in s (Go's utf8.RuneCountInString: each invalid byte is one rune).
inline size_t count(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) decode(s, i);
  return n;
}

// The longest prefix of s that is at most max_bytes long and does not end
// inside a multi-byte sequence.
inline std::string_view prefix(std::string_view s, size_t max_bytes) {
  if (max_bytes >= s.size()) return s;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace berth::utf8
