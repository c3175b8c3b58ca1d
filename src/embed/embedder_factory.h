// Builds the embedder named in config: "use-lite" (the default; USE-lite on OpenBLAS), "hashing" (weight-free,
// for tests and as the fallback), "openai" (an OpenAI-compatible /v1/embeddings endpoint). An explicit list, no
// static self-registration. Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "embed/embedder.h"

namespace deskpipe {

// "use-lite" → UseLiteEmbedder from UseLiteEmbedder::DefaultModelDir(); when its weights are absent it logs a
// warning and falls back to HashingEmbedder, so a machine without the npm assets still syncs. Weights that are
// present but broken are an error (the index would otherwise silently change model).
// "hashing" → HashingEmbedder(384). "openai" → InvalidArgument (it needs the Config: use the overload below).
// Anything else → InvalidArgument listing the valid names.
Result<std::unique_ptr<Embedder>> MakeEmbedder(std::string_view name);

// The settings the embedders declare (OpenAiEmbedderSettings' openai_*), for the config loader.
std::vector<ConfigSection> EmbedderConfigSections();

// The embedder `config.embedder` names; "openai" → OpenAiEmbedder from the openai_* settings (its key is
// registered with the logger as a secret; concurrency from max_concurrent_requests).
Result<std::unique_ptr<Embedder>> MakeEmbedder(const Config& config);

// First thing in main(), before any thread starts: lets the built-in embedders set up the process (USE-lite
// re-executes it once with the OpenBLAS kernels this CPU runs fastest; embed/use_lite/blas_runtime.h).
// Returns only when no re-exec was needed or it failed.
void PrepareProcessForEmbedders(char** argv);

}  // namespace deskpipe
