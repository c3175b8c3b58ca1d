#include "embed/embedder_factory.h"

#include <filesystem>
#include <mutex>
#include <string>

#include "core/log.h"
#include "embed/hashing_embedder.h"
#include "embed/openai_embedder.h"
#include "embed/openai_embedder_settings.h"
#include "embed/use_lite/blas_runtime.h"
#include "embed/use_lite/use_lite_embedder.h"

namespace deskpipe {

Result<std::unique_ptr<Embedder>> MakeEmbedder(std::string_view name) {
  if (name == "hashing") return std::unique_ptr<Embedder>(std::make_unique<HashingEmbedder>());
  if (name == "use-lite") {
    const std::string model_dir = embed::UseLiteEmbedder::DefaultModelDir();
    if (!std::filesystem::exists(std::filesystem::path(model_dir) / "model.json")) {
      log::Warn("USE-lite weights not found; falling back to the hashing embedder",
                {{"model_dir", model_dir}, {"fix", "run scripts/setup"}});
      return std::unique_ptr<Embedder>(std::make_unique<HashingEmbedder>());
    }
    ASSIGN_OR_RETURN(auto model, embed::UseLiteEmbedder::Load(model_dir));
    // Once per process: a demo or a test makes several embedders.
    static std::once_flag warned;
    std::call_once(warned, [] {
      if (const std::string warning = embed::SlowerBlasCoreWarning(); !warning.empty()) log::Warn(warning);
    });
    return std::unique_ptr<Embedder>(std::move(model));
  }
  if (name == "openai") {
    return Error(Internal("embedder 'openai' needs the configuration: call MakeEmbedder(const Config&)"));
  }
  return Error(InvalidArgument("unknown embedder '" + std::string(name) +
                               "'; valid names: use-lite, hashing, openai"));
}

Result<std::unique_ptr<Embedder>> MakeEmbedder(const Config& config) {
  if (config.embedder != "openai") return MakeEmbedder(config.embedder);
  RegisterLogSecrets(config);
  const OpenAiEmbedderSettings settings = OpenAiEmbedderSettings::FromConfig(config);
  OpenAiEmbedderOptions options;
  options.base_url = settings.base_url;
  options.api_key = settings.api_key;
  options.model = settings.model;
  options.dimension = settings.dimension;
  options.concurrency = config.max_concurrent_requests;
  ASSIGN_OR_RETURN(auto embedder, OpenAiEmbedder::Create(std::move(options)));
  return std::unique_ptr<Embedder>(std::move(embedder));
}

std::vector<ConfigSection> EmbedderConfigSections() { return {OpenAiEmbedderSettingsSection()}; }

void PrepareProcessForEmbedders(char** argv) { embed::ReexecWithBetterBlasCoreIfNeeded(argv); }

}  // namespace deskpipe
