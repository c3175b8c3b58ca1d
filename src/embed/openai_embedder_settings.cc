#include "embed/openai_embedder_settings.h"

#include "core/settings_binding.h"

namespace deskpipe {
namespace {

const SettingsBinding<OpenAiEmbedderSettings>& Binding() {
  static const SettingsBinding<OpenAiEmbedderSettings> binding =
      SettingsBinding<OpenAiEmbedderSettings>("openai")
          .Field(&OpenAiEmbedderSettings::base_url,
                 {.key = "openai_base_url",
                  .env = "OPENAI_BASE_URL",
                  .doc = "OpenAI-compatible API root for embedder openai (https, or http to loopback)"})
          .Field(&OpenAiEmbedderSettings::api_key,
                 {.key = "openai_api_key",
                  .env = "OPENAI_API_KEY",
                  .doc = "API key for openai_base_url (secret: never printed or logged)",
                  .secret = true})
          .Field(&OpenAiEmbedderSettings::model,
                 {.key = "openai_embedding_model",
                  .env = "OPENAI_EMBEDDING_MODEL",
                  .doc = "Embedding model name sent to openai_base_url"})
          .Field(&OpenAiEmbedderSettings::dimension,
                 {.key = "openai_embedding_dimension",
                  .env = "OPENAI_EMBEDDING_DIMENSION",
                  .doc = "Vector width for embedder openai; 0 = the model's own (asked of the server when "
                         "unknown)"});
  return binding;
}

}  // namespace

OpenAiEmbedderSettings OpenAiEmbedderSettings::FromConfig(const Config& config) { return Binding().Read(config); }

void OpenAiEmbedderSettings::WriteTo(Config& config) const { Binding().Write(*this, config); }

ConfigSection OpenAiEmbedderSettingsSection() { return Binding().Section(); }

}  // namespace deskpipe
