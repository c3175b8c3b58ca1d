// The embedder interface: texts in, L2-normalized float32 vectors out.
// Implementations declare their capabilities (whether Embed() may run on several threads at once, the batch
// size that suits them, whether a call waits on the network); the pipeline schedules by those, never by an
// embedder's name. Without thread_safe the pipeline serializes Embed() calls; a network-bound embedder is
// called from the pipeline's I/O threads, not its CPU workers.
// Folder: embed/ (embedders) may include core/ and net/; only embed/ includes embed/use_lite/ (docs/ARCHITECTURE.md).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace deskpipe {

// What the pipeline may rely on when it schedules Embed() calls.
struct EmbedderCapabilities {
  bool thread_safe = false;  // Embed() may be called from several threads at once
  int preferred_batch = 64;  // texts per Embed() call beyond which a call gains nothing but memory
  bool network_bound = false;  // Embed() mostly waits on a remote service rather than computing
};

class Embedder {
 public:
  virtual ~Embedder() = default;

  virtual EmbedderCapabilities capabilities() const { return {}; }
  // The caller runs this many Embed() calls at once: an implementation with threads of its own inside a call
  // (a BLAS) sizes them so the calls together do not oversubscribe the cores. Default: nothing to size.
  virtual void SetConcurrentCalls(int /*calls*/) {}

  // Stable id of the model and its settings; part of the embedding cache key ("hashing-v1-384").
  virtual std::string model_id() const = 0;
  virtual int dimension() const = 0;
  // How many tokens of input the model reads; chunking sizes chunks to fit.
  virtual int max_tokens() const = 0;
  // Counts tokens the way the model does (an approximation where the model has no tokenizer).
  virtual int CountTokens(const std::string& text) const = 0;

  // Hybrid search's share of the fused score for the keyword (BM25) list; the rest goes to this model's
  // vectors. Measured per model on the tuning half of bench/retrieval (README, "Retrieval quality"): a
  // model whose vectors know little that BM25 does not gets less.
  virtual double keyword_weight() const { return 0.7; }

  // One vector of dimension() floats per text, in order, each with L2 norm 1 (or all zeros for empty text).
  virtual Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) = 0;
};

}  // namespace deskpipe
