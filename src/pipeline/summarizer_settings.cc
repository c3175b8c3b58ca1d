#include "pipeline/summarizer_settings.h"

#include <fmt/format.h>

#include "core/settings_binding.h"

namespace deskpipe {
namespace {

std::optional<ConfigProblem> Check(const SummarizerSettings& s, const Config& config) {
  if (!(s.timeout_seconds > 0 && s.timeout_seconds <= 600)) {
    return ConfigProblem{"llm_summary_timeout", fmt::format("{} is not in (0, 600]", s.timeout_seconds)};
  }
  if (s.max_concurrent < 1 || s.max_concurrent > 64) {
    return ConfigProblem{"llm_summary_max_concurrent", std::to_string(s.max_concurrent) + " is not in 1..64"};
  }
  if (config.llm_summary && s.model.empty()) {
    return ConfigProblem{"llm_summary_model", "must not be empty when llm_summary is on"};
  }
  return std::nullopt;
}

const SettingsBinding<SummarizerSettings>& Binding() {
  static const SettingsBinding<SummarizerSettings> binding =
      SettingsBinding<SummarizerSettings>("llm_summary")
          .Field(&SummarizerSettings::url,
                 {.key = "llm_summary_url",
                  .env = "LLM_SUMMARY_URL",
                  .doc = "OpenAI-compatible API root for thread summaries: POST {url}/chat/completions (https, "
                         "or http to loopback)"})
          .Field(&SummarizerSettings::model,
                 {.key = "llm_summary_model", .env = "LLM_SUMMARY_MODEL", .doc = "Chat model that writes thread summaries"})
          .Field(&SummarizerSettings::api_key,
                 {.key = "llm_summary_api_key",
                  .env = "LLM_SUMMARY_API_KEY",
                  .doc = "API key for llm_summary_url (secret: never printed or logged)",
                  .secret = true})
          .Field(&SummarizerSettings::timeout_seconds,
                 {.key = "llm_summary_timeout",
                  .env = "LLM_SUMMARY_TIMEOUT",
                  .doc = "Seconds one summary request may take, connect included, (0, 600]"})
          .Field(&SummarizerSettings::max_concurrent,
                 {.key = "llm_summary_max_concurrent",
                  .env = "LLM_SUMMARY_MAX_CONCURRENT",
                  .doc = "Summary requests in flight per batch (1..64)"})
          .Check(Check);
  return binding;
}

}  // namespace

SummarizerSettings SummarizerSettings::FromConfig(const Config& config) { return Binding().Read(config); }

void SummarizerSettings::WriteTo(Config& config) const { Binding().Write(*this, config); }

ConfigSection SummarizerSettingsSection() { return Binding().Section(); }

}  // namespace deskpipe
