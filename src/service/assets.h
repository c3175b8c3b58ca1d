// Files shipped inside the binary (no build step, nothing read from disk at run time): the web console.
// Thread-safety: immutable. Lifetime: static.
#pragma once

#include <string_view>

namespace deskpipe::service {

// console/index.html, as built in.
std::string_view ConsoleHtml();

}  // namespace deskpipe::service
