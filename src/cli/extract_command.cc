#include "cli/extract_command.h"

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/file_read.h"
#include "extract/extract.h"

namespace deskpipe::cli {
namespace {

struct ExtractCommandOptions {
  std::vector<std::string> files;
  bool json = false;
  extract::ExtractLimits limits;
};

// Refuses devices, FIFOs, directories and sockets, and reads no more than max_file_bytes: the limit holds
// before a byte is in memory, not after the whole file was.
bool ReadFile(const std::string& path, int64_t max_bytes, std::string& bytes, std::string& error) {
  auto read = ReadRegularFile(path, max_bytes, std::to_string(max_bytes) + " bytes (--max-file-bytes)");
  if (!read) {
    error = read.error().message();
    return false;
  }
  bytes = std::move(*read);
  return true;
}

int RunExtract(const ExtractCommandOptions& options) {
  auto extractor = extract::Extractor::Create(options.limits);
  if (!extractor) return Fail(nullptr, extractor.error());
  int code = kExitOk;
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& path : options.files) {
    std::string bytes, error;
    extract::ExtractResult result;
    if (!ReadFile(path, options.limits.max_file_bytes, bytes, error)) {
      result.error = error;
    } else {
      result = extractor->Extract(bytes, path);
    }
    if (!result.ok()) code = kExitFailure;
    if (options.json) {
      nlohmann::json entry = {{"file", path}, {"bytes", bytes.size()}, {"type", result.detected_type}};
      if (result.ok()) {
        entry["text"] = result.text;
        entry["truncated"] = result.truncated;
      } else {
        entry["error"] = result.error;
      }
      out.push_back(std::move(entry));
      continue;
    }
    const std::string type = result.detected_type.empty() ? "type unknown" : result.detected_type;
    if (result.ok()) {
      std::printf("==> %s: %s, %zu bytes of text%s\n%s\n\n", path.c_str(), type.c_str(), result.text.size(),
                  result.truncated ? " (cut at max_text_bytes)" : "", result.text.c_str());
    } else {
      std::printf("==> %s: %s, refused: %s\n\n", path.c_str(), type.c_str(), result.error.c_str());
    }
  }
  if (options.json) std::printf("%s\n", out.dump(2).c_str());
  std::fflush(stdout);
  return code;
}

}  // namespace

void RegisterExtractCommand(CLI::App& app, Flags& /*flags*/, int& exit_code) {
  auto options = std::make_shared<ExtractCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "extract",
      "Print the type and text deskpipe extracts from files (attachments), or why it refuses them");
  // Checked as they are read (ReadRegularFile), so a missing or non-regular file is refused by name and the
  // other files are still extracted.
  command->add_option("files", options->files, "Regular files to read (devices, FIFOs, directories refused)")
      ->required();
  command->add_flag("--json", options->json, "Print a JSON array: file, bytes, type, text or error");
  command->add_option("--max-file-bytes", options->limits.max_file_bytes, "Refuse larger files")
      ->capture_default_str();
  command->add_option("--max-pdf-pages", options->limits.max_pdf_pages, "Refuse PDFs with more pages")
      ->capture_default_str();
  command
      ->add_option("--max-image-pixels", options->limits.max_image_pixels,
                   "Refuse larger images (width × height)")
      ->capture_default_str();
  command
      ->add_option("--max-unpacked-bytes", options->limits.max_unpacked_bytes,
                   "Refuse Office files that unpack to more (zip bombs)")
      ->capture_default_str();
  command->add_option("--max-text-bytes", options->limits.max_text_bytes, "Cut longer text")
      ->capture_default_str();
  command->add_option("--timeout", options->limits.max_seconds, "Seconds per file")->capture_default_str();
  command
      ->add_option("--max-memory-bytes", options->limits.max_memory_bytes,
                   "Memory limit of the parser process")
      ->capture_default_str();
  command->callback([options, &exit_code] { exit_code = RunExtract(*options); });
}

}  // namespace deskpipe::cli
