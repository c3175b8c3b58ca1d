#include "cli/embed_command.h"

#include <charconv>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embed/embedder_factory.h"

namespace deskpipe::cli {
namespace {

// A vector as a JSON array, each float in its shortest round-trip form.
std::string VectorJson(const std::vector<float>& vector) {
  std::string out = "[";
  char buffer[32];
  for (size_t i = 0; i < vector.size(); ++i) {
    if (i) out += ',';
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, vector[i]);
    out.append(buffer, ec == std::errc() ? end : buffer);
  }
  out += ']';
  return out;
}

// Embeds `texts` (input lines first_line…) and prints one array per text.
Result<void> EmbedAndPrint(Embedder& embedder, const std::vector<std::string>& texts, size_t first_line) {
  auto vectors = embedder.Embed(texts);
  if (!vectors) {
    return Error(vectors.error().WithContext("stdin lines " + std::to_string(first_line) + "-" +
                                             std::to_string(first_line + texts.size() - 1)));
  }
  std::string out;
  for (const auto& vector : *vectors) out += VectorJson(vector) + '\n';
  std::fwrite(out.data(), 1, out.size(), stdout);
  return {};
}

int RunEmbed(Flags flags, const std::string& model, bool json_lines, int batch_size) {
  if (!model.empty()) flags.values["embedder"] = model;
  auto config = BuildConfig(flags);
  if (!config) return Fail(nullptr, config.error());
  auto embedder = MakeEmbedder(*config);
  if (!embedder) return Fail(&*config, embedder.error());

  std::vector<std::string> batch;
  size_t line_number = 0, batch_first = 1;
  std::string line;
  auto flush = [&]() -> Result<void> {
    if (batch.empty()) return {};
    RETURN_IF_ERROR(EmbedAndPrint(**embedder, batch, batch_first));
    batch.clear();
    batch_first = line_number + 1;
    return {};
  };
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (json_lines) {
      auto value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!value.is_string()) {
        return Fail(&*config, InvalidArgument("stdin line " + std::to_string(line_number) +
                                              " is not a JSON string (--json expects one per line)"));
      }
      line = value.get<std::string>();
    }
    batch.push_back(std::move(line));
    if (static_cast<int>(batch.size()) >= batch_size) {
      if (auto r = flush(); !r) return Fail(&*config, r.error());
    }
  }
  if (auto r = flush(); !r) return Fail(&*config, r.error());
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

void RegisterEmbedCommand(CLI::App& app, Flags& flags, int& exit_code) {
  CLI::App* embed = app.add_subcommand(
      "embed", "Embed stdin, one text per line, printing one JSON array per line");
  auto model = std::make_shared<std::string>();
  auto json_lines = std::make_shared<bool>(false);
  auto batch_size = std::make_shared<int>(64);
  embed->add_option("--model", *model, "Embedder: use-lite (default), hashing or openai (see openai_* settings)")
      ->check(CLI::IsMember({"use-lite", "hashing", "openai"}));
  embed->add_flag("--json", *json_lines, "Each input line is a JSON string (texts may then hold newlines)");
  embed->add_option("--batch-size", *batch_size, "Texts per Embed call")->capture_default_str()->check(
      CLI::Range(1, 4096));
  embed->callback([&flags, &exit_code, model, json_lines, batch_size] {
    exit_code = RunEmbed(flags, *model, *json_lines, *batch_size);
  });
}

}  // namespace deskpipe::cli
