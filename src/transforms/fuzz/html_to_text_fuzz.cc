// libFuzzer target: HtmlToText on arbitrary bytes. Checks that it never crashes, that its output is valid
// UTF-8 without NUL bytes, and that RepairUtf8 is idempotent and always yields valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "transforms/html_to_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto text = deskpipe::transforms::HtmlToText(input);
  if (text) {
    if (!deskpipe::transforms::IsValidUtf8(*text)) std::abort();
    if (text->find('\0') != std::string::npos) std::abort();
  }
  const std::string repaired = deskpipe::transforms::RepairUtf8(input);
  if (!deskpipe::transforms::IsValidUtf8(repaired)) std::abort();
  if (deskpipe::transforms::RepairUtf8(repaired) != repaired) std::abort();
  return 0;
}
