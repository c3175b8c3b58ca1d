// The OpenAI-compatible embedder's settings (embedder = "openai"): what it declares to the config loader
// (OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_EMBEDDING_MODEL, OPENAI_EMBEDDING_DIMENSION) and the typed struct it
// reads them back as. The embedder factory lists the section.
// Thread-safety: plain values and read-only declarations. Lifetime: the section's declarations live for the
// process.
#pragma once

#include <string>

#include "core/config.h"

namespace deskpipe {

struct OpenAiEmbedderSettings {
  std::string base_url = "https://api.openai.com/v1";  // openai_base_url
  std::string api_key;                                 // openai_api_key (secret)
  std::string model = "text-embedding-3-small";        // openai_embedding_model
  int dimension = 0;                                   // openai_embedding_dimension; 0 = the model's own

  static OpenAiEmbedderSettings FromConfig(const Config& config);
  void WriteTo(Config& config) const;
};

ConfigSection OpenAiEmbedderSettingsSection();

}  // namespace deskpipe
