#include "core/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace deskpipe {

std::string_view FileKindName(unsigned int st_mode) {
  switch (st_mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFIFO: return "a FIFO (named pipe)";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
    default: return "an unknown kind of file";
  }
}

Result<std::string> ReadRegularFile(const std::string& path, int64_t max_bytes, std::string_view limit_text) {
  auto not_regular = [&](unsigned int mode) {
    return Error(InvalidArgument(path + " is " + std::string(FileKindName(mode)) + ", not a regular file"));
  };
  // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int open_errno = errno;
    struct stat st {};
    // A socket cannot be opened (ENXIO); say what it is rather than "no such device".
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return not_regular(st.st_mode);
    return Error(InvalidArgument("cannot open " + path + ": " + std::strerror(open_errno)));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error(InvalidArgument("cannot stat " + path + ": " + std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return not_regular(st.st_mode);
  const std::string too_large = path + " is larger than " + std::string(limit_text);
  if (st.st_size > max_bytes) return Error(InvalidArgument(too_large));
  // Reads block from here on (a regular file never waits for long).
  if (int flags = ::fcntl(fd, F_GETFL); flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);

  std::string data;
  data.reserve(static_cast<size_t>(st.st_size));
  char buffer[64 * 1024];
  for (;;) {
    // One byte past the limit tells a file that grew (or a /proc file reporting size 0) from one that fits.
    const int64_t room = max_bytes + 1 - static_cast<int64_t>(data.size());
    const size_t want = static_cast<size_t>(std::min<int64_t>(room, sizeof(buffer)));
    const ssize_t n = ::read(fd, buffer, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(InvalidArgument("cannot read " + path + ": " + std::strerror(errno)));
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
    if (static_cast<int64_t>(data.size()) > max_bytes) return Error(InvalidArgument(too_large));
  }
  return data;
}

}  // namespace deskpipe
