#include "service/secrets.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

namespace deskpipe::service {
namespace {

constexpr size_t kKeyHexDigits = 2 * crypto_secretbox_KEYBYTES;
// A key file is 64 digits and a newline; anything much larger is not one, and is not read whole.
constexpr size_t kMaxKeyFileBytes = 4096;

// Every entry point calls this first. Without a working libsodium (no entropy source) nothing here is safe to
// run, so it stops the process instead of returning an error a caller might log and ignore.
void EnsureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "deskpipe: libsodium failed to initialize (sodium_init); cannot handle secrets\n");
      std::abort();
    }
  });
}

std::string ErrnoText(int error) { return std::strerror(error); }

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

Result<std::string> ReadAll(int fd, const std::string& path) {
  std::string data;
  char buffer[1024];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(InvalidArgument("cannot read key file " + path + ": " + ErrnoText(errno)));
    }
    if (n == 0) return data;
    data.append(buffer, static_cast<size_t>(n));
    if (data.size() > kMaxKeyFileBytes) {
      return Error(InvalidArgument("key file " + path + " is not a key (over " +
                                   std::to_string(kMaxKeyFileBytes) + " bytes; expected 64 hex digits)"));
    }
  }
}

Result<void> WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(Internal(ErrnoText(errno)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// Writes a fresh random key to `path` when nothing is there. The key goes to a private temporary file first
// (O_EXCL, 0600, fsync) and is then hard-linked into place, so a reader never sees a half-written key and two
// servers starting at once cannot overwrite each other's: link() fails with EEXIST for the later one, which
// then reads the winner's file. Returns false when another process created the file first.
Result<bool> CreateKeyFile(const std::string& path) {
  unsigned char key[crypto_secretbox_KEYBYTES];
  crypto_secretbox_keygen(key);
  std::string text(kKeyHexDigits + 1, '\0');
  sodium_bin2hex(text.data(), text.size(), key, sizeof key);
  sodium_memzero(key, sizeof key);
  text.back() = '\n';

  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%08x%08x", randombytes_random(), randombytes_random());
  const std::string temp = path + ".tmp-" + suffix;
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int error = errno;
    sodium_memzero(text.data(), text.size());
    return Error(InvalidArgument("cannot create key file " + path + ": " + ErrnoText(error)));
  }
  auto written = WriteAll(fd, text);
  sodium_memzero(text.data(), text.size());
  if (written && ::fsync(fd) != 0) written = Error(Internal(ErrnoText(errno)));
  ::close(fd);
  if (!written) {
    ::unlink(temp.c_str());
    return Error(InvalidArgument("cannot write key file " + path + ": " + written.error().message()));
  }
  const int linked = ::link(temp.c_str(), path.c_str());
  const int link_error = errno;
  ::unlink(temp.c_str());
  if (linked != 0) {
    if (link_error == EEXIST) return false;
    return Error(InvalidArgument("cannot create key file " + path + ": " + ErrnoText(link_error)));
  }
  // The new directory entry is durable only once the directory is synced.
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  if (const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return true;
}

}  // namespace

// The master key, in memory from sodium_malloc: guard pages around it, locked out of swap, and zeroed by
// sodium_free when the last SecretBox holding it goes.
struct SecretBox::Key {
  unsigned char* bytes = nullptr;
  Key() : bytes(static_cast<unsigned char*>(sodium_malloc(crypto_secretbox_KEYBYTES))) {}
  ~Key() { sodium_free(bytes); }
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
};

Result<SecretBox> SecretBox::FromHex(std::string_view hex) {
  EnsureSodium();
  // Whatever the text is, it may be a mistyped key: report its length only.
  bool all_hex = hex.size() == kKeyHexDigits;
  for (char c : hex) {
    all_hex = all_hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
  }
  if (!all_hex) {
    return Error(InvalidArgument("the master key must be 64 hex digits (32 bytes); the one given has " +
                                 std::to_string(hex.size()) + " characters" +
                                 (hex.size() == kKeyHexDigits ? " that are not all hex digits" : "")));
  }
  auto key = std::make_shared<Key>();
  if (key->bytes == nullptr) return Error(Internal("cannot allocate locked memory for the master key"));
  size_t decoded = 0;
  if (sodium_hex2bin(key->bytes, crypto_secretbox_KEYBYTES, hex.data(), hex.size(), nullptr, &decoded,
                     nullptr) != 0 ||
      decoded != crypto_secretbox_KEYBYTES) {
    return Error(InvalidArgument("the master key must be 64 hex digits (32 bytes)"));
  }
  return SecretBox(std::move(key));
}

Result<SecretBox> SecretBox::FromFile(const std::string& path, bool create, bool* created) {
  EnsureSodium();
  if (created != nullptr) *created = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) {
    ASSIGN_OR_RETURN(bool made, CreateKeyFile(path));
    if (created != nullptr) *created = made;
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) return Error(NotFound("no master key file at " + path));
    if (error == EACCES)
      return Error(PermissionDenied("cannot read master key file " + path + ": " + ErrnoText(error)));
    return Error(InvalidArgument("cannot open master key file " + path + ": " + ErrnoText(error)));
  }
  // Checked on the open descriptor, so the file read is the file checked.
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    return Error(InvalidArgument("cannot stat master key file " + path + ": " + ErrnoText(error)));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Error(InvalidArgument("master key file " + path + " is not a regular file"));
  }
  if ((info.st_mode & 077) != 0) {
    ::close(fd);
    return Error(PermissionDenied("master key file " + path + " has mode " + ModeText(info.st_mode) +
                                  ", open to group or others; make it private: chmod 600 " + path));
  }
  auto text = ReadAll(fd, path);
  ::close(fd);
  if (!text) return Error(text.error());
  std::string_view hex = *text;
  if (!hex.empty() && hex.back() == '\n') hex.remove_suffix(1);
  auto box = FromHex(hex);
  sodium_memzero(text->data(), text->size());
  if (!box) return Error(box.error().WithContext("master key file " + path));
  return box;
}

std::string SecretBox::Seal(std::string_view plaintext) const {
  EnsureSodium();
  std::vector<unsigned char> sealed(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                    plaintext.size());
  unsigned char* nonce = sealed.data();
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(sealed.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(), nonce,
                        key_->bytes);
  std::string text(sodium_base64_encoded_len(sealed.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(text.data(), text.size(), sealed.data(), sealed.size(), sodium_base64_VARIANT_ORIGINAL);
  text.resize(std::strlen(text.c_str()));  // the encoded length counts the terminating NUL
  return text;
}

Result<std::string> SecretBox::Open(std::string_view sealed) const {
  EnsureSodium();
  std::vector<unsigned char> bytes(sealed.size());
  size_t size = 0;
  const char* end = nullptr;
  if (sodium_base642bin(bytes.data(), bytes.size(), sealed.data(), sealed.size(), nullptr, &size, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != sealed.data() + sealed.size()) {
    return Error(InvalidArgument("a sealed secret is not base64"));
  }
  if (size < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Error(InvalidArgument("a sealed secret is too short to be one"));
  }
  std::string plaintext(size - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plaintext.data()),
                                 bytes.data() + crypto_secretbox_NONCEBYTES,
                                 size - crypto_secretbox_NONCEBYTES, bytes.data(), key_->bytes) != 0) {
    return Error(InvalidArgument(
        "a sealed secret failed authentication: sealed under another master key, or altered"));
  }
  return plaintext;
}

std::string NewToken() {
  EnsureSodium();
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  std::string text(sodium_base64_encoded_len(sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(text.data(), text.size(), random, sizeof random,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  text.resize(std::strlen(text.c_str()));
  return "dp_" + text;
}

std::string HashToken(std::string_view token) {
  EnsureSodium();
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  char hex[2 * sizeof digest + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string("blake2b:") + hex;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  EnsureSodium();
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace deskpipe::service
