// Content hashes: xxh3-64 rendered as 16 lower-case hex digits. Used to detect unchanged text (no
// re-embedding) and to build digests. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace deskpipe {

uint64_t Hash64(std::string_view bytes);

// xxh3-128, for sets that keep digests in place of the strings (16 bytes each, one allocation for all); two
// distinct strings share one with probability 2^-128.
struct Hash128 {
  uint64_t high = 0;
  uint64_t low = 0;
  auto operator<=>(const Hash128&) const = default;
};
Hash128 Hash128Of(std::string_view bytes);
std::string HashHex(std::string_view bytes);  // 16 hex digits

// Incremental xxh3-64 over several pieces (each piece is length-prefixed so ("ab","c") ≠ ("a","bc")).
class HashBuilder {
 public:
  HashBuilder();
  ~HashBuilder();
  HashBuilder(const HashBuilder&) = delete;
  HashBuilder& operator=(const HashBuilder&) = delete;

  HashBuilder& Add(std::string_view piece);
  uint64_t Value() const;
  std::string Hex() const;

 private:
  void* state_;  // XXH3_state_t*
};

std::string ToHex64(uint64_t value);

}  // namespace deskpipe
