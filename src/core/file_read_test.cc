#include "core/file_read.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace deskpipe {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class ReadRegularFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("file-read-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  fs::path dir_;
};

TEST_F(ReadRegularFileTest, ReadsARegularFileWithinItsLimit) {
  const std::string path = Write("a.txt", "hello");
  auto text = ReadRegularFile(path, 5, "5 bytes");
  ASSERT_TRUE(text) << text.error().ToString();
  EXPECT_EQ(*text, "hello");
}

TEST_F(ReadRegularFileTest, ALargerFileIsRefusedNamingTheLimit) {
  const std::string path = Write("big.txt", std::string(100, 'x'));
  auto text = ReadRegularFile(path, 99, "99 bytes (the test limit)");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(text.error().message(), path + " is larger than 99 bytes (the test limit)");
}

TEST_F(ReadRegularFileTest, AFileWhoseSizeSaysNothingIsStillReadOnlyToItsLimit) {
  // /proc files report size 0 whatever they hold.
  auto text = ReadRegularFile("/proc/self/maps", 16, "16 bytes");
  ASSERT_FALSE(text);
  EXPECT_THAT(text.error().message(), HasSubstr("is larger than 16 bytes"));
}

TEST_F(ReadRegularFileTest, DevicesFifosDirectoriesAndSocketsAreRefusedByKind) {
  auto zero = ReadRegularFile("/dev/zero", 1 << 20, "1 MiB");
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message(), "/dev/zero is a character device, not a regular file");

  const std::string fifo = (dir_ / "pipe").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto piped = ReadRegularFile(fifo, 1 << 20, "1 MiB");  // must return, not wait for a writer
  ASSERT_FALSE(piped);
  EXPECT_EQ(piped.error().message(), fifo + " is a FIFO (named pipe), not a regular file");

  auto directory = ReadRegularFile(dir_.string(), 1 << 20, "1 MiB");
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().message(), dir_.string() + " is a directory, not a regular file");

  const std::string socket_path = (dir_ / "sock").string();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(socket_path.size(), sizeof(address.sun_path));
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  auto socket = ReadRegularFile(socket_path, 1 << 20, "1 MiB");
  ::close(fd);
  ASSERT_FALSE(socket);
  EXPECT_EQ(socket.error().message(), socket_path + " is a socket, not a regular file");
}

TEST_F(ReadRegularFileTest, AMissingFileNamesThePathAndTheReason) {
  const std::string path = (dir_ / "missing").string();
  auto text = ReadRegularFile(path, 10, "10 bytes");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message(), "cannot open " + path + ": No such file or directory");
}

}  // namespace
}  // namespace deskpipe
