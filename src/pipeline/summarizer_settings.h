// The LLM summarizer's settings (LLM_SUMMARY_URL, LLM_SUMMARY_MODEL, LLM_SUMMARY_API_KEY, LLM_SUMMARY_TIMEOUT,
// LLM_SUMMARY_MAX_CONCURRENT): what it declares to the config loader, with their checks, and the typed struct
// Summarizer::FromConfig reads them back as. Whether summaries are made at all is core's mode switch
// (Config::llm_summary, ENABLE_LLM_SUMMARY_GENERATION).
// Thread-safety: plain values and read-only declarations. Lifetime: the section's declarations live for the
// process.
#pragma once

#include <string>

#include "core/config.h"

namespace deskpipe {

struct SummarizerSettings {
  std::string url = "https://api.openai.com/v1";  // llm_summary_url: POST {url}/chat/completions
  std::string model = "gpt-4o-mini";              // llm_summary_model
  std::string api_key;                            // llm_summary_api_key (secret)
  double timeout_seconds = 60;                    // llm_summary_timeout, per request, (0, 600]
  int max_concurrent = 4;                         // llm_summary_max_concurrent, 1..64

  static SummarizerSettings FromConfig(const Config& config);
  void WriteTo(Config& config) const;
};

ConfigSection SummarizerSettingsSection();

}  // namespace deskpipe
