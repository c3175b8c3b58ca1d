// Builds the embedder named in config ("hashing", later "use-lite", "openai"). An explicit list, no static
// self-registration. Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string_view>

#include "core/status.h"
#include "embed/embedder.h"

namespace deskpipe {

// "hashing" → HashingEmbedder(384). "use-lite" / "openai" → InvalidArgument (not built yet). Anything else →
// InvalidArgument listing the valid names.
Result<std::unique_ptr<Embedder>> MakeEmbedder(std::string_view name);

}  // namespace deskpipe
