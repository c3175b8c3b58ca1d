// A weight-free, deterministic embedder: word unigrams, word bigrams and character 3–5-grams hashed into
// `dimension` signed buckets (the "hashing trick"), sublinear term frequency, L2-normalized. It knows no
// semantics beyond shared words and word pieces, but it is fast, offline and stable across runs and
// machines, so it serves tests and as a fallback when no model is installed.
// Thread-safety: stateless after construction; Embed() may be called from several threads at once (each
// thread keeps its own scratch table for counting features).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "embed/embedder.h"

namespace deskpipe {

class HashingEmbedder : public Embedder {
 public:
  explicit HashingEmbedder(int dimension = 384);

  std::string model_id() const override;  // "hashing-v1-<dimension>"
  int dimension() const override { return dimension_; }
  // The hashing embedder has no real input limit; 256 keeps chunks (sized to 128 tokens) well inside it and
  // matches the order of magnitude of real models, so chunking behaves the same with either.
  int max_tokens() const override { return 256; }
  // The number of word tokens (runs of letters/digits; non-ASCII bytes count as letters).
  int CountTokens(const std::string& text) const override;
  // Pure arithmetic over its input: any number of calls at once.
  EmbedderCapabilities capabilities() const override { return {.thread_safe = true}; }
  // Hashed words are a blurred copy of what BM25 ranks exactly: their vectors get a smaller share.
  double keyword_weight() const override { return 0.8; }

  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override;

  // One text's vector (dimension() floats; all zeros when the text has no word).
  std::vector<float> EmbedOne(std::string_view text) const;

 private:
  int dimension_;
};

}  // namespace deskpipe
