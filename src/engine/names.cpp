#include "engine/names.hpp"

#include <sys/random.h>

#include <cstdint>
#include <cctype>
#include <cstdio>
#include <iterator>

#include "common/error.hpp"

namespace berth::engine {

namespace {

void random_bytes(void* buf, size_t n) {
  if (::getrandom(buf, n, 0) != static_cast<ssize_t>(n)) throw_errno("getrandom");
}

const char* const kAdjectives[] = {
    "admiring", "agitated", "amazing",  "angry",    "awesome",  "bold",     "brave",   "busy",
    "charming", "clever",   "cool",     "dazzling", "determined", "eager",  "ecstatic", "elegant",
    "epic",     "festive",  "focused",  "friendly", "gallant",  "gifted",   "happy",   "hopeful",
    "jolly",    "keen",     "kind",     "loving",   "magical",  "modest",   "nice",    "nifty",
    "optimistic", "peaceful", "quirky", "relaxed",  "serene",   "sharp",    "stoic",   "sweet",
    "tender",   "trusting", "upbeat",   "vibrant",  "vigilant", "wizardly", "youthful", "zealous"};
const char* const kNames[] = {
    "albattani", "babbage",  "bell",      "bohr",     "curie",    "darwin",   "dijkstra", "einstein",
    "euclid",    "faraday",  "feynman",   "galileo",  "goldberg", "hamilton", "hopper",   "hypatia",
    "johnson",   "kepler",   "knuth",     "lamport",  "lovelace", "mccarthy", "meitner",  "newton",
    "noether",   "pascal",   "pike",      "ritchie",  "shannon",  "thompson", "torvalds", "turing",
    "wozniak",   "wright",   "yalow",     "zhukovsky"};

}  // namespace

std::string check_container_name(const std::string& in) {
  std::string n = !in.empty() && in[0] == '/' ? in.substr(1) : in;
  auto ok_first = [](char c) { return std::isalnum(static_cast<unsigned char>(c)); };
  auto ok = [&](char c) { return ok_first(c) || c == '_' || c == '.' || c == '-'; };
  bool valid = n.size() >= 2 && n.size() <= 128 && ok_first(n[0]);
  for (char c : n) valid = valid && ok(c);
  if (!valid)
    throw Error("Invalid container name (" + in + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                ErrorKind::InvalidArgument);
  return n;
}

std::string random_name() {
  uint32_t r[2];
  random_bytes(r, sizeof r);
  return std::string(kAdjectives[r[0] % std::size(kAdjectives)]) + "_" + kNames[r[1] % std::size(kNames)];
}

std::string random_id() {
  unsigned char b[32];
  random_bytes(b, sizeof b);
  std::string s;
  char h[3];
  for (unsigned char c : b) {
    std::snprintf(h, sizeof h, "%02x", c);
    s += h;
  }
  // Docker avoids all-digit short ids (they read as numbers); so do we.
  if (s.substr(0, 12).find_first_not_of("0123456789") == std::string::npos) s[0] = 'a';
  return s;
}

}  // namespace berth::engine
