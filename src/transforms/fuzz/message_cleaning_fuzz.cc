// libFuzzer target: quote stripping and signature removal on arbitrary text. Checks that they never crash,
// never grow the text, never turn non-empty text into a longer one, and that CleanMessageText is stable
// enough to be applied twice without growing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "transforms/message_cleaning.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string quoted = deskpipe::transforms::StripQuotedText(input);
  if (quoted.size() > input.size()) std::abort();
  const std::string signed_off = deskpipe::transforms::StripSignature(input);
  if (signed_off.size() > input.size()) std::abort();
  const std::string cleaned = deskpipe::transforms::CleanMessageText(input);
  if (cleaned.size() > input.size()) std::abort();
  const std::string twice = deskpipe::transforms::CleanMessageText(cleaned);
  if (twice.size() > cleaned.size()) std::abort();
  (void)deskpipe::transforms::SameTextIgnoringWhitespace(input, cleaned);
  return 0;
}
