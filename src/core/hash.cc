#include "core/hash.h"

#include <cstdio>

#include <xxhash.h>

namespace deskpipe {

uint64_t Hash64(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

Hash128 Hash128Of(std::string_view bytes) {
  const XXH128_hash_t hash = XXH3_128bits(bytes.data(), bytes.size());
  return {hash.high64, hash.low64};
}

std::string ToHex64(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return std::string(buf, 16);
}

std::string HashHex(std::string_view bytes) { return ToHex64(Hash64(bytes)); }

HashBuilder::HashBuilder() : state_(XXH3_createState()) { XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_)); }

HashBuilder::~HashBuilder() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

HashBuilder& HashBuilder::Add(std::string_view piece) {
  auto* state = static_cast<XXH3_state_t*>(state_);
  const uint64_t length = piece.size();
  XXH3_64bits_update(state, &length, sizeof length);
  XXH3_64bits_update(state, piece.data(), piece.size());
  return *this;
}

uint64_t HashBuilder::Value() const { return XXH3_64bits_digest(static_cast<XXH3_state_t*>(state_)); }

std::string HashBuilder::Hex() const { return ToHex64(Value()); }

}  // namespace deskpipe
