// deskpipe-extract-worker: extracts the text of ONE untrusted file read from stdin, under rlimits it sets on
// itself before reading anything. Started by Extractor (extract.cc) for every file; not meant to be run by
// hand (though `deskpipe-extract-worker < file.pdf` works and is handy when debugging a parser).
//
// Protocol on stdout:
//   type <mime>\n                    as soon as the type is sniffed
//   ok <0|1>\n<text>                 extracted; 1 when the text was cut at --max-text-bytes
//   error <reason on one line>\n     refused or failed
// Exit status 0 whenever a line above was written; a crash or kill shows up to the parent as a signal.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "extract/parsers.h"

namespace {

using deskpipe::extract::ExtractLimits;

void SetLimit(int resource, rlim_t value) {
  rlimit limit{value, value};
  setrlimit(resource, &limit);
}

void WriteAll(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(STDOUT_FILENO, data.data() + done, data.size() - done);
    if (n <= 0) std::_Exit(3);  // the parent went away
    done += static_cast<size_t>(n);
  }
}

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

bool ParseArgs(int argc, char** argv, ExtractLimits& limits) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    char* end = nullptr;
    const long long value = std::strtoll(argv[i + 1], &end, 10);
    if (end == argv[i + 1] || *end != '\0' || value < 0) return false;
    if (name == "--max-file-bytes") {
      limits.max_file_bytes = value;
    } else if (name == "--max-pdf-pages") {
      limits.max_pdf_pages = static_cast<int>(value);
    } else if (name == "--max-image-pixels") {
      limits.max_image_pixels = value;
    } else if (name == "--max-unpacked-bytes") {
      limits.max_unpacked_bytes = value;
    } else if (name == "--max-text-bytes") {
      limits.max_text_bytes = value;
    } else if (name == "--max-cpu-seconds") {
      limits.max_seconds = static_cast<double>(value);
    } else if (name == "--max-memory-bytes") {
      limits.max_memory_bytes = value;
    } else {
      return false;
    }
  }
  return argc % 2 == 1;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kUnderAsan = true;
#else
constexpr bool kUnderAsan = false;
#endif
#else
constexpr bool kUnderAsan = false;
#endif

}  // namespace

int main(int argc, char** argv) {
  ExtractLimits limits;
  if (!ParseArgs(argc, argv, limits)) {
    std::fprintf(stderr,
                 "usage: deskpipe-extract-worker [--max-file-bytes N] [--max-pdf-pages N] "
                 "[--max-image-pixels N] [--max-unpacked-bytes N] [--max-text-bytes N] "
                 "[--max-cpu-seconds N] [--max-memory-bytes N] < FILE\n");
    return 2;
  }
  // The limits go on before a byte of the file is read. ASan reserves terabytes of address space, so the
  // address-space limit is left off in sanitizer builds (time and the parent's kill still apply).
  if (!kUnderAsan && limits.max_memory_bytes > 0)
    SetLimit(RLIMIT_AS, static_cast<rlim_t>(limits.max_memory_bytes));
  if (limits.max_seconds > 0) SetLimit(RLIMIT_CPU, static_cast<rlim_t>(limits.max_seconds) + 1);
  SetLimit(RLIMIT_FSIZE, 0);  // a parser has no business writing files
  SetLimit(RLIMIT_CORE, 0);
  SetLimit(RLIMIT_NOFILE, 64);

  try {
    std::string bytes;
    char buffer[1 << 16];
    while (true) {
      const ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0) {
        WriteAll("error cannot read the file from stdin\n");
        return 0;
      }
      if (n == 0) break;
      bytes.append(buffer, static_cast<size_t>(n));
      if (static_cast<int64_t>(bytes.size()) > limits.max_file_bytes) {
        WriteAll("error file: more than " + std::to_string(limits.max_file_bytes) +
                 " bytes (max_file_bytes)\n");
        return 0;
      }
    }
    auto type = deskpipe::extract::SniffType(bytes);
    if (!type) {
      WriteAll("error " + OneLine(type.error().message()) + "\n");
      return 0;
    }
    WriteAll("type " + OneLine(*type) + "\n");
    bool truncated = false;
    auto text = deskpipe::extract::ExtractText(*type, bytes, limits, &truncated);
    if (!text) {
      WriteAll("error " + OneLine(text.error().message()) + "\n");
      return 0;
    }
    WriteAll(std::string("ok ") + (truncated ? "1" : "0") + "\n");
    WriteAll(*text);
  } catch (const std::bad_alloc&) {
    WriteAll("error out of memory (the limit is " + std::to_string(limits.max_memory_bytes) +
             " bytes, max_memory_bytes)\n");
  } catch (const std::exception& e) {
    WriteAll("error parser failed: " + OneLine(e.what()) + "\n");
  }
  return 0;
}
