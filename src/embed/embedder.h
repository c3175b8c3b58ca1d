// The embedder interface: texts in, L2-normalized float32 vectors out.
// Implementations say whether they are thread-safe; the pipeline calls one instance from one thread.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace deskpipe {

class Embedder {
 public:
  virtual ~Embedder() = default;

  // Stable id of the model and its settings; part of the embedding cache key ("hashing-v1-384").
  virtual std::string model_id() const = 0;
  virtual int dimension() const = 0;
  // How many tokens of input the model reads; chunking sizes chunks to fit.
  virtual int max_tokens() const = 0;
  // Counts tokens the way the model does (an approximation where the model has no tokenizer).
  virtual int CountTokens(const std::string& text) const = 0;

  // One vector of dimension() floats per text, in order, each with L2 norm 1 (or all zeros for empty text).
  virtual Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) = 0;
};

}  // namespace deskpipe
