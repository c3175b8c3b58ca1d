// Reading a file a user named (a config file, a file to extract, model weights) without trusting it to be
// one: a device, FIFO, socket or directory is refused with a message naming the path and what it is, the open
// never blocks (O_NONBLOCK, then fstat on the descriptor, so a FIFO is caught without waiting for a writer),
// and no more than `max_bytes` are ever read: a larger file is refused, not loaded first and measured after.
// Pure functions over the file system; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace deskpipe {

// "a character device", "a block device", "a FIFO (named pipe)", "a socket", "a directory", "a symbolic link",
// "a regular file", "an unknown kind of file", for a st_mode.
std::string_view FileKindName(unsigned int st_mode);

// The whole of the regular file at `path`, at most `max_bytes` of it. InvalidArgument, naming the path:
// "PATH is a character device, not a regular file"; "PATH is larger than LIMIT_TEXT" (LIMIT_TEXT names the
// limit, e.g. "1 MiB (the config file limit)"); "cannot open PATH: <strerror>".
Result<std::string> ReadRegularFile(const std::string& path, int64_t max_bytes, std::string_view limit_text);

}  // namespace deskpipe
