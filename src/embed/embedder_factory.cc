#include "embed/embedder_factory.h"

#include <string>

#include "embed/hashing_embedder.h"

namespace deskpipe {

Result<std::unique_ptr<Embedder>> MakeEmbedder(std::string_view name) {
  if (name == "hashing") return std::unique_ptr<Embedder>(std::make_unique<HashingEmbedder>());
  if (name == "use-lite" || name == "openai") {
    return Error(InvalidArgument("embedder '" + std::string(name) + "' is not available yet; use 'hashing'"));
  }
  return Error(InvalidArgument("unknown embedder '" + std::string(name) +
                               "'; valid names: hashing, use-lite, openai"));
}

}  // namespace deskpipe
