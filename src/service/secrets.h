// The service's secrets at rest: helpdesk API keys sealed with libsodium's secretbox (XSalsa20-Poly1305) under
// one master key, and tenant tokens kept only as hashes (BLAKE2b: tokens are 256 random bits, so a fast hash is
// enough) and compared in constant time.
// Thread-safety: a SecretBox is immutable after construction; every function may be called from any thread
// (sodium_init runs once, on first use). Lifetime: the master key lives in locked memory and is wiped with the
// SecretBox.
// Folder: service/ may include every folder but cli/ (docs/ARCHITECTURE.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace deskpipe::service {

class SecretBox {
 public:
  // From the master key's text: 64 hex digits (32 bytes), as in DESKPIPE_MASTER_KEY. InvalidArgument otherwise
  // (the message never echoes the text).
  static Result<SecretBox> FromHex(std::string_view hex);
  // Reads the key file (64 hex digits, optional trailing newline). When it does not exist and `create` is set,
  // writes a new random key there with mode 0600 (and sets *created). A key file readable by group or others
  // is refused (PermissionDenied naming the path and its mode).
  static Result<SecretBox> FromFile(const std::string& path, bool create, bool* created = nullptr);

  // nonce ‖ MAC ‖ ciphertext, base64 (standard, no newlines): a fresh random nonce each call.
  std::string Seal(std::string_view plaintext) const;
  // InvalidArgument when `sealed` is not base64 or fails authentication (another master key, tampering).
  Result<std::string> Open(std::string_view sealed) const;

 private:
  struct Key;
  explicit SecretBox(std::shared_ptr<const Key> key) : key_(std::move(key)) {}
  std::shared_ptr<const Key> key_;
};

// A new tenant or admin token: "dp_" followed by 43 base64url characters (32 random bytes).
std::string NewToken();
// The stored form of a token: "blake2b:" + 64 hex digits.
std::string HashToken(std::string_view token);
// Equal contents, in time independent of where they differ (sodium_memcmp; different lengths ⇒ false).
bool ConstantTimeEqual(std::string_view a, std::string_view b);

}  // namespace deskpipe::service
