#include "service/secrets.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace deskpipe::service {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKeyA = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr const char* kKeyB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

SecretBox Box(const char* hex) {
  auto box = SecretBox::FromHex(hex);
  EXPECT_TRUE(box.has_value()) << box.error().ToString();
  return *box;
}

class ServiceSecretsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deskpipe_secrets_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST(ServiceSecrets, SealThenOpenGivesThePlaintextBack) {
  SecretBox box = Box(kKeyA);
  const std::string plaintext = "fd-api-key-ABC123\n with bytes \x01\xff";
  const std::string sealed = box.Seal(plaintext);
  EXPECT_EQ(sealed.find("fd-api-key"), std::string::npos);
  auto opened = box.Open(sealed);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  EXPECT_EQ(*opened, plaintext);

  auto empty = box.Open(box.Seal(""));
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, "");
}

TEST(ServiceSecrets, SealedTextIsStandardBase64OfNonceMacAndCiphertext) {
  const std::string sealed = Box(kKeyA).Seal("0123456789");
  // 24 nonce + 16 MAC + 10 bytes = 50 bytes ⇒ 68 base64 characters with padding.
  EXPECT_EQ(sealed.size(), 68u);
  EXPECT_EQ(sealed.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
            std::string::npos);
}

TEST(ServiceSecrets, AnotherKeyCannotOpen) {
  const std::string sealed = Box(kKeyA).Seal("secret");
  auto opened = Box(kKeyB).Open(sealed);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), StatusCode::kInvalidArgument);
}

TEST(ServiceSecrets, AFlippedByteFailsAuthentication) {
  SecretBox box = Box(kKeyA);
  const std::string sealed = box.Seal("secret value");
  // Flip a character in the middle (ciphertext/MAC region), keeping it valid base64.
  for (size_t at : {size_t{2}, sealed.size() / 2, sealed.size() - 4}) {
    std::string tampered = sealed;
    tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
    auto opened = box.Open(tampered);
    EXPECT_FALSE(opened.has_value()) << "flipped at " << at;
  }
  EXPECT_FALSE(box.Open("not base64 !!").has_value());
  EXPECT_FALSE(box.Open("").has_value());
  EXPECT_FALSE(box.Open(sealed.substr(0, 20)).has_value());
}

TEST(ServiceSecrets, TwoSealsOfOneTextDiffer) {
  SecretBox box = Box(kKeyA);
  const std::string first = box.Seal("same");
  const std::string second = box.Seal("same");
  EXPECT_NE(first, second);
  EXPECT_NE(first.substr(0, 32), second.substr(0, 32));  // the nonce leads
}

TEST(ServiceSecrets, FromHexRejectsBadInputWithoutEchoingIt) {
  const std::string bad_inputs[] = {
      "",
      "deadbeef",
      std::string(kKeyA) + "00",
      "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
      "0011223344556677 8899aabbccddeeff00112233445566778899aabbccddeef",
  };
  for (const std::string& bad : bad_inputs) {
    auto box = SecretBox::FromHex(bad);
    ASSERT_FALSE(box.has_value()) << "accepted '" << bad << "'";
    EXPECT_EQ(box.error().code(), StatusCode::kInvalidArgument);
    if (bad.size() >= 4) {
      EXPECT_EQ(box.error().message().find(bad), std::string::npos) << box.error().message();
    }
  }
  EXPECT_TRUE(
      SecretBox::FromHex("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF").has_value());
}

TEST_F(ServiceSecretsFileTest, CreatesAPrivateKeyFileAndReadsTheSameKeyBack) {
  const std::string path = (dir_ / "master.key").string();
  bool created = false;
  auto first = SecretBox::FromFile(path, /*create=*/true, &created);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_TRUE(created);

  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().size(), 65u);  // 64 hex digits and a newline
  EXPECT_EQ(text.str().back(), '\n');
  // No temporary file left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);

  auto second = SecretBox::FromFile(path, /*create=*/true, &created);
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  EXPECT_FALSE(created);
  auto opened = second->Open(first->Seal("round trip"));
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  EXPECT_EQ(*opened, "round trip");

  // The file holds the key FromHex reads: the same box opens what either seals.
  auto from_hex = SecretBox::FromHex(text.str().substr(0, 64));
  ASSERT_TRUE(from_hex.has_value());
  EXPECT_EQ(*from_hex->Open(first->Seal("x")), "x");
}

TEST_F(ServiceSecretsFileTest, AMissingFileIsNotCreatedUnlessAsked) {
  const std::string path = (dir_ / "absent.key").string();
  bool created = true;
  auto box = SecretBox::FromFile(path, /*create=*/false, &created);
  ASSERT_FALSE(box.has_value());
  EXPECT_FALSE(created);
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(ServiceSecretsFileTest, AKeyFileOpenToOthersIsRefused) {
  const std::string path = (dir_ / "loose.key").string();
  {
    std::ofstream out(path);
    out << kKeyA << "\n";
  }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto box = SecretBox::FromFile(path, /*create=*/true);
  ASSERT_FALSE(box.has_value());
  EXPECT_EQ(box.error().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(box.error().message().find(path), std::string::npos) << box.error().message();
  EXPECT_NE(box.error().message().find("0644"), std::string::npos) << box.error().message();
  EXPECT_EQ(box.error().message().find(kKeyA), std::string::npos);

  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto fixed = SecretBox::FromFile(path, /*create=*/false);
  ASSERT_TRUE(fixed.has_value()) << fixed.error().ToString();
  EXPECT_EQ(*fixed->Open(Box(kKeyA).Seal("same key")), "same key");
}

TEST_F(ServiceSecretsFileTest, AKeyFileWithoutNewlineReadsAndABadOneIsNotEchoed) {
  const std::string path = (dir_ / "bare.key").string();
  {
    std::ofstream out(path);
    out << kKeyB;
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto box = SecretBox::FromFile(path, false);
  ASSERT_TRUE(box.has_value()) << box.error().ToString();
  EXPECT_EQ(*box->Open(Box(kKeyB).Seal("b")), "b");

  const std::string bad = "not-a-key-but-a-password-hunter2";
  {
    std::ofstream out(path, std::ios::trunc);
    out << bad << "\n";
  }
  auto refused = SecretBox::FromFile(path, false);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.error().message().find("hunter2"), std::string::npos) << refused.error().message();
}

TEST(ServiceSecrets, TokensHaveTheirShapeAndDiffer) {
  const std::string token = NewToken();
  ASSERT_EQ(token.size(), 3u + 43u);
  EXPECT_EQ(token.rfind("dp_", 0), 0u);
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 3),
            std::string::npos)
      << token;
  EXPECT_NE(NewToken(), token);
}

TEST(ServiceSecrets, TokenHashIsBlake2bHex) {
  const std::string hash = HashToken("dp_example");
  ASSERT_EQ(hash.size(), 8u + 64u);
  EXPECT_EQ(hash.rfind("blake2b:", 0), 0u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef", 8), std::string::npos) << hash;
  EXPECT_EQ(HashToken("dp_example"), hash);
  EXPECT_NE(HashToken("dp_examplf"), hash);
  // BLAKE2b-256 of the empty input, a published test value.
  EXPECT_EQ(HashToken(""), "blake2b:0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST(ServiceSecrets, ConstantTimeEqualComparesContentsAndLength) {
  EXPECT_TRUE(ConstantTimeEqual("blake2b:abc", "blake2b:abc"));
  EXPECT_FALSE(ConstantTimeEqual("blake2b:abc", "blake2b:abd"));
  EXPECT_FALSE(ConstantTimeEqual("blake2b:abc", "blake2b:ab"));
  EXPECT_FALSE(ConstantTimeEqual("", "x"));
  EXPECT_TRUE(ConstantTimeEqual("", ""));
}

}  // namespace
}  // namespace deskpipe::service
