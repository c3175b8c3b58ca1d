#include "embed/use_lite/use_lite_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <thread>

#include "embed/use_lite/blas_runtime.h"
#include "embed/use_lite/gemm.h"
#include "embed/use_lite/scratch.h"
#include "embed/use_lite/vectorized.h"

namespace deskpipe::embed {
namespace {

const std::string kPrefix = "module_apply_default/Encoder_en/KonaTransformer/";
const std::string kHidden = "module_apply_default/Encoder_en/hidden_layers/";
constexpr int kMaxTokensPerPass = 4096;  // bounds scratch memory (~40 MB per thread) for large batches
constexpr int kMinTokensPerShard = 256;  // below this a batch is not worth a second thread

// The ops this graph is made of; anything else means a different model.
const std::set<std::string> kKnownOps = {
    "Add",     "BatchMatMul",  "BiasAdd",  "Cast",     "ConcatV2",      "Const",     "Conv2D",
    "Cos",     "ExpandDims",   "GatherNd", "GatherV2", "Greater",       "Less",      "LogicalNot",
    "MatMul",  "Max",          "Maximum",  "Mean",     "Mul",           "Pack",      "Placeholder",
    "Prod",    "Range",        "RealDiv",  "Relu",     "Reshape",       "Rsqrt",     "ScatterNd",
    "Shape",   "Sin",          "Slice",    "Softmax",  "SparseToDense", "SplitV",    "Square",
    "Squeeze", "StridedSlice", "Sub",      "Sum",      "Tanh",          "Transpose", "Where"};

// Looks up graph structure and weights, failing with the first mismatch.
class GraphReader {
 public:
  explicit GraphReader(const TfjsGraphModel& graph) : graph_(graph) {}

  // The `index`-th input name of node `name`, which must have op `op`.
  Result<std::string> Input(const std::string& name, const std::string& op, size_t index) const {
    RETURN_IF_ERROR(graph_.ExpectNode(name, op));
    const auto& inputs = graph_.nodes().at(name).inputs;
    if (index >= inputs.size()) {
      return Error(InvalidArgument("TF.js graph: node " + name + " has no input " + std::to_string(index)));
    }
    return inputs[index];
  }
  Result<void> ExpectInput(const std::string& name, const std::string& op, size_t index,
                           const std::string& expected) const {
    ASSIGN_OR_RETURN(std::string input, Input(name, op, index));
    if (input != expected) {
      return Error(InvalidArgument("TF.js graph: node " + name + " input " + std::to_string(index) + " is " +
                                   input + ", expected " + expected));
    }
    return {};
  }
  // The float weight feeding input `index` of node `name`, checked against `shape`.
  Result<std::vector<float>> Weight(const std::string& name, const std::string& op, size_t index,
                                    const std::vector<int64_t>& shape) const {
    ASSIGN_OR_RETURN(std::string input, Input(name, op, index));
    ASSIGN_OR_RETURN(const TfjsTensor* t, graph_.FloatWeight(input, shape));
    return t->floats;
  }
  Result<double> Scalar(const std::string& name, const std::string& op, size_t index) const {
    ASSIGN_OR_RETURN(std::string input, Input(name, op, index));
    return graph_.Scalar(input);
  }
  const TfjsGraphModel& graph() const { return graph_; }

 private:
  const TfjsGraphModel& graph_;
};

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// glibc's vector expf (libmvec, each variant within 4 ulp), so the softmax's exponentials vectorize too.
// glibc's <math.h> declares it so only under -ffast-math, which this file does not want.
extern "C" __attribute__((simd("notinbranch"))) float expf(float) noexcept;
#endif

DESKPIPE_VECTORIZED
void LayerNorm(const float* in, int rows, int dim, const float* scale, const float* bias, float epsilon,
               float* out) {
  for (int r = 0; r < rows; ++r) {
    const float* x = in + static_cast<size_t>(r) * dim;
    float* y = out + static_cast<size_t>(r) * dim;
    float mean = 0;
#pragma omp simd reduction(+ : mean)
    for (int i = 0; i < dim; ++i) mean += x[i];
    mean /= static_cast<float>(dim);
    float var = 0;
#pragma omp simd reduction(+ : var)
    for (int i = 0; i < dim; ++i) var += (x[i] - mean) * (x[i] - mean);
    var /= static_cast<float>(dim);
    const float inv = 1.0f / std::sqrt(var + epsilon);
#pragma omp simd
    for (int i = 0; i < dim; ++i) y[i] = scale[i] * inv * (x[i] - mean) + bias[i];
  }
}

DESKPIPE_VECTORIZED
void SoftmaxRows(float* s, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    float* row = s + static_cast<size_t>(r) * cols;
    float max = row[0];
#pragma omp simd reduction(max : max)
    for (int i = 0; i < cols; ++i) max = std::max(max, row[i]);
#pragma omp simd
    for (int i = 0; i < cols; ++i) row[i] = expf(row[i] - max);
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < cols; ++i) sum += row[i];
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int i = 0; i < cols; ++i) row[i] *= inv;
  }
}

// A weight and its bias read as the k × n product the forward pass runs.
Result<WeightMatrix> AsMatrix(Result<std::vector<float>> values, Result<std::vector<float>> bias, int k,
                              int n) {
  if (!values) return Error(values.error());
  if (!bias) return Error(bias.error());
  return WeightMatrix(std::move(*values), std::move(*bias), k, n);
}

}  // namespace

Result<std::unique_ptr<UseLiteModel>> UseLiteModel::Load(const TfjsGraphModel& graph) {
  GraphReader g(graph);
  for (const auto& [name, node] : graph.nodes()) {
    if (!kKnownOps.count(node.op)) {
      return Error(InvalidArgument("TF.js graph: node " + name + " has op " + node.op +
                                   " which the USE-lite forward pass does not implement"));
    }
  }
  RETURN_IF_ERROR(graph.ExpectNode("indices", "Placeholder"));
  RETURN_IF_ERROR(graph.ExpectNode("values", "Placeholder"));

  auto model = std::unique_ptr<UseLiteModel>(new UseLiteModel());
  ASSIGN_OR_RETURN(double max_length, g.Scalar(kPrefix + "ClipToMaxLength/Less", "Less", 1));
  model->max_length_ = static_cast<int>(max_length);
  if (model->max_length_ <= 0 || model->max_length_ > 4096) {
    return Error(InvalidArgument("TF.js graph: implausible max length " + std::to_string(max_length)));
  }

  // Embeddings and the timing signal; the graph adds the embeddings twice (see the header).
  ASSIGN_OR_RETURN(std::string table, g.Input(kPrefix + "Encode/embedding_lookup", "GatherV2", 0));
  auto it = graph.weights().find(table);
  if (it == graph.weights().end() || it->second.shape.size() != 2) {
    return Error(InvalidArgument("TF.js graph: missing or malformed embedding table " + table));
  }
  model->vocab_rows_ = static_cast<int>(it->second.shape[0]);
  model->embed_dim_ = static_cast<int>(it->second.shape[1]);
  const int e = model->embed_dim_;
  if (e % 2 != 0) return Error(InvalidArgument("TF.js graph: odd embedding width"));
  ASSIGN_OR_RETURN(model->embeddings_,
                   g.Weight(kPrefix + "Encode/embedding_lookup", "GatherV2", 0, {model->vocab_rows_, e}));
  const std::string timing = kPrefix + "Encode/TransformerStack/Layer_0/AddTimingSignal/";
  ASSIGN_OR_RETURN(model->inv_timescales_, g.Weight(timing + "TimingSignal/mul_2", "Mul", 1, {1, e / 2}));
  RETURN_IF_ERROR(graph.ExpectNode(timing + "TimingSignal/Sin", "Sin"));
  RETURN_IF_ERROR(graph.ExpectNode(timing + "TimingSignal/Cos", "Cos"));
  RETURN_IF_ERROR(g.ExpectInput(timing + "TimingSignal/concat", "ConcatV2", 0, timing + "TimingSignal/Sin"));
  RETURN_IF_ERROR(g.ExpectInput(timing + "add", "Add", 0, timing + "Gather/GatherNd"));
  RETURN_IF_ERROR(
      g.ExpectInput(timing + "Gather/GatherNd", "GatherNd", 0, kPrefix + "Encode/Scatter/ScatterNd"));
  const std::string stack = kPrefix + "Encode/TransformerStack/";
  RETURN_IF_ERROR(g.ExpectInput(stack + "Layer_0/add", "Add", 0, kPrefix + "Encode/Scatter/ScatterNd"));
  RETURN_IF_ERROR(g.ExpectInput(stack + "Layer_0/add", "Add", 1, timing + "Scatter/ScatterNd"));

  // The transformer layers.
  std::string layer_input = stack + "Layer_0/add";
  int d_in = e;
  for (int index = 0;; ++index) {
    const std::string p = stack + "Layer_" + std::to_string(index) + "/TransformerLayer/";
    if (!graph.nodes().count(p + "layer_postprocess/add")) break;
    Layer layer;
    layer.d_in = d_in;
    const std::string ln = p + "layer_prepostprocess/layer_norm/";
    RETURN_IF_ERROR(g.ExpectInput(ln + "Mean", "Mean", 0, layer_input));
    ASSIGN_OR_RETURN(layer.ln_scale, g.Weight(ln + "mul", "Mul", 0, {d_in}));
    ASSIGN_OR_RETURN(layer.ln_bias, g.Weight(ln + "add_1", "Add", 1, {d_in}));
    ASSIGN_OR_RETURN(double epsilon, g.Scalar(ln + "add", "Add", 1));
    model->ln_epsilon_ = static_cast<float>(epsilon);

    const std::string mha = p + "MultiheadAttention/";
    ASSIGN_OR_RETURN(std::string splits_name, g.Input(mha + "split", "SplitV", 1));
    auto splits = graph.weights().find(splits_name);
    if (splits == graph.weights().end() || splits->second.ints.size() != 3 ||
        splits->second.ints[0] != splits->second.ints[1] ||
        splits->second.ints[1] != splits->second.ints[2]) {
      return Error(InvalidArgument("TF.js graph: " + mha + "split does not split q, k, v evenly"));
    }
    layer.d_attn = splits->second.ints[0];
    ASSIGN_OR_RETURN(double heads,
                     g.Scalar(mha + "split_heads/split_last_dimension/Reshape/shape", "Pack", 2));
    ASSIGN_OR_RETURN(double head_dim,
                     g.Scalar(mha + "split_heads/split_last_dimension/Reshape/shape", "Pack", 3));
    layer.heads = static_cast<int>(heads);
    if (layer.heads <= 0 || layer.heads * static_cast<int>(head_dim) != layer.d_attn) {
      return Error(InvalidArgument("TF.js graph: " + mha + " heads × head size != attention width"));
    }
    ASSIGN_OR_RETURN(double q_scale, g.Scalar(mha + "mul", "Mul", 1));
    layer.q_scale = static_cast<float>(q_scale);
    ASSIGN_OR_RETURN(std::string qkv_kernel_name, g.Input(mha + "qkv_transform_single/Conv2D", "Conv2D", 1));
    auto qkv = graph.weights().find(qkv_kernel_name);
    if (qkv == graph.weights().end() || qkv->second.shape.size() != 4) {
      return Error(InvalidArgument("TF.js graph: missing or malformed weight " + qkv_kernel_name));
    }
    ASSIGN_OR_RETURN(
        layer.qkv,
        AsMatrix(g.Weight(mha + "qkv_transform_single/Conv2D", "Conv2D", 1, {1, 1, d_in, 3 * layer.d_attn}),
                 g.Weight(mha + "qkv_transform_single/BiasAdd", "BiasAdd", 1, {3 * layer.d_attn}), d_in,
                 3 * layer.d_attn));
    ASSIGN_OR_RETURN(std::string out_kernel_name,
                     g.Input(mha + "output_transform_single/Conv2D", "Conv2D", 1));
    auto out_kernel = graph.weights().find(out_kernel_name);
    if (out_kernel == graph.weights().end() || out_kernel->second.shape.size() != 4) {
      return Error(InvalidArgument("TF.js graph: missing or malformed weight " + out_kernel_name));
    }
    layer.d_model = static_cast<int>(out_kernel->second.shape[3]);
    ASSIGN_OR_RETURN(
        layer.out, AsMatrix(g.Weight(mha + "output_transform_single/Conv2D", "Conv2D", 1,
                                     {1, 1, layer.d_attn, layer.d_model}),
                            g.Weight(mha + "output_transform_single/BiasAdd", "BiasAdd", 1, {layer.d_model}),
                            layer.d_attn, layer.d_model));
    RETURN_IF_ERROR(graph.ExpectNode(mha + "DotProductAttention/BaseDotProductAttention/Softmax", "Softmax"));

    // The residual: the layer input itself, or (when widths differ) a dense projection of it.
    ASSIGN_OR_RETURN(std::string residual, g.Input(p + "layer_postprocess/add", "Add", 1));
    if (residual == layer_input) {
      if (d_in != layer.d_model)
        return Error(InvalidArgument("TF.js graph: " + p + " identity residual changes width"));
    } else {
      const std::string adjust = p + "AdjustResidualInput/";
      RETURN_IF_ERROR(g.ExpectInput(adjust + "Gather/GatherNd", "GatherNd", 0, layer_input));
      ASSIGN_OR_RETURN(
          layer.residual,
          AsMatrix(g.Weight(adjust + "dense/MatMul", "MatMul", 1, {d_in, layer.d_model}),
                   g.Weight(adjust + "dense/BiasAdd", "BiasAdd", 1, {layer.d_model}), d_in, layer.d_model));
    }

    const std::string ffn = p + "FFN/";
    const std::string ffn_ln = ffn + "layer_prepostprocess/layer_norm/";
    RETURN_IF_ERROR(g.ExpectInput(ffn_ln + "Mean", "Mean", 0, p + "layer_postprocess/add"));
    ASSIGN_OR_RETURN(layer.ffn_ln_scale, g.Weight(ffn_ln + "mul", "Mul", 0, {layer.d_model}));
    ASSIGN_OR_RETURN(layer.ffn_ln_bias, g.Weight(ffn_ln + "add_1", "Add", 1, {layer.d_model}));
    ASSIGN_OR_RETURN(std::string ffn1_name, g.Input(ffn + "conv1/Tensordot/MatMul", "MatMul", 1));
    auto ffn1 = graph.weights().find(ffn1_name);
    if (ffn1 == graph.weights().end() || ffn1->second.shape.size() != 2) {
      return Error(InvalidArgument("TF.js graph: missing or malformed weight " + ffn1_name));
    }
    layer.d_ff = static_cast<int>(ffn1->second.shape[1]);
    ASSIGN_OR_RETURN(
        layer.ffn1,
        AsMatrix(g.Weight(ffn + "conv1/Tensordot/MatMul", "MatMul", 1, {layer.d_model, layer.d_ff}),
                 g.Weight(ffn + "conv1/BiasAdd", "BiasAdd", 1, {layer.d_ff}), layer.d_model, layer.d_ff));
    RETURN_IF_ERROR(g.ExpectInput(ffn + "conv1/Relu", "Relu", 0, ffn + "conv1/BiasAdd"));
    ASSIGN_OR_RETURN(
        layer.ffn2,
        AsMatrix(g.Weight(ffn + "conv2/Tensordot/MatMul", "MatMul", 1, {layer.d_ff, layer.d_model}),
                 g.Weight(ffn + "conv2/BiasAdd", "BiasAdd", 1, {layer.d_model}), layer.d_ff, layer.d_model));
    RETURN_IF_ERROR(g.ExpectInput(ffn + "layer_postprocess/add", "Add", 1, p + "layer_postprocess/add"));

    layer_input = ffn + "layer_postprocess/add";
    d_in = layer.d_model;
    model->layers_.push_back(std::move(layer));
  }
  if (model->layers_.empty()) return Error(InvalidArgument("TF.js graph: no transformer layers found"));

  // Masked mean pooling, then tanh(dense) and L2 normalization.
  RETURN_IF_ERROR(g.ExpectInput(kPrefix + "mul", "Mul", 0, layer_input));
  RETURN_IF_ERROR(g.ExpectInput(kPrefix + "div", "RealDiv", 0, kPrefix + "Sum"));
  model->out_dim_ = d_in;
  RETURN_IF_ERROR(g.ExpectInput(kHidden + "tanh_layer_0/MatMul", "MatMul", 0, kPrefix + "div"));
  ASSIGN_OR_RETURN(model->final_,
                   AsMatrix(g.Weight(kHidden + "tanh_layer_0/MatMul", "MatMul", 1, {d_in, d_in}),
                            g.Weight(kHidden + "tanh_layer_0/BiasAdd", "BiasAdd", 1, {d_in}), d_in, d_in));
  RETURN_IF_ERROR(graph.ExpectNode(kHidden + "tanh_layer_0/Tanh", "Tanh"));
  ASSIGN_OR_RETURN(double l2_epsilon, g.Scalar(kHidden + "l2_normalize/Maximum", "Maximum", 1));
  model->l2_epsilon_ = static_cast<float>(l2_epsilon);

  // The timing signal of every position, computed once: [sin(p·f), cos(p·f)].
  const int half = e / 2;
  model->timing_signal_.resize(static_cast<size_t>(model->max_length_) * e);
  for (int pos = 0; pos < model->max_length_; ++pos) {
    float* row = model->timing_signal_.data() + static_cast<size_t>(pos) * e;
    for (int k = 0; k < half; ++k) {
      const float t = static_cast<float>(pos) * model->inv_timescales_[k];
      row[k] = std::sin(t);
      row[half + k] = std::cos(t);
    }
  }
  model->max_width_ = e;
  for (const Layer& layer : model->layers_) model->max_width_ = std::max({model->max_width_, layer.d_in, layer.d_model});

  // Parallelism: the model shards a batch over its own threads, each running single-threaded BLAS, which
  // keeps every core busy through the non-BLAS steps too and avoids BLAS worker threads spinning between
  // calls. DESKPIPE_EMBED_THREADS overrides the core count.
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("DESKPIPE_EMBED_THREADS"); env != nullptr && std::atoi(env) > 0) {
    threads = std::atoi(env);
  }
  model->threads_ = std::clamp(threads, 1, 64);
  SetBlasThreads(1);
  RETURN_IF_ERROR(SelectDefaultGemmBackend());
  return model;
}

Result<std::vector<std::vector<float>>> UseLiteModel::Embed(const std::vector<std::vector<int>>& ids) const {
  std::vector<std::vector<float>> result(ids.size(), std::vector<float>(out_dim_));
  std::vector<int> lengths(ids.size());
  int64_t total_tokens = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    lengths[t] = std::min<int>(static_cast<int>(ids[t].size()), max_length_);
    for (int i = 0; i < lengths[t]; ++i) {
      const int id = ids[t][i];
      if (id < 0 || id >= vocab_rows_) {
        return Error(InvalidArgument("token id " + std::to_string(id) + " outside the vocabulary (text " +
                                     std::to_string(t) + ")"));
      }
    }
    total_tokens += lengths[t];
  }

  // Contiguous shards of about equal token counts, one per thread; small batches stay on the caller's thread
  // (a thread costs more than it saves below ~kMinTokensPerShard tokens).
  const int64_t wanted = std::max<int64_t>(1, std::min<int64_t>(threads_, total_tokens / kMinTokensPerShard));
  const int shards = static_cast<int>(std::min<int64_t>(wanted, static_cast<int64_t>(ids.size())));
  std::vector<size_t> bounds = {0};
  int64_t running = 0;
  for (size_t t = 0; t < ids.size() && static_cast<int>(bounds.size()) < shards; ++t) {
    running += lengths[t];
    if (running * shards >= total_tokens * static_cast<int64_t>(bounds.size())) bounds.push_back(t + 1);
  }
  while (bounds.size() <= static_cast<size_t>(shards)) bounds.push_back(ids.size());
  bounds.back() = ids.size();

  auto run_shard = [&](size_t begin, size_t end) {
    std::unique_ptr<Workspace> workspace = workspaces_.Take();
    while (begin < end) {
      // Pack as many texts as fit the per-pass token budget (at least one).
      std::vector<int>& packed = workspace->packed;
      packed.clear();
      size_t stop = begin;
      while (stop < end) {
        if (stop > begin && static_cast<int>(packed.size()) + lengths[stop] > kMaxTokensPerPass) break;
        packed.insert(packed.end(), ids[stop].begin(), ids[stop].begin() + lengths[stop]);
        ++stop;
      }
      const std::vector<int> pass_lengths(lengths.begin() + static_cast<std::ptrdiff_t>(begin),
                                          lengths.begin() + static_cast<std::ptrdiff_t>(stop));
      Forward(packed, pass_lengths, *workspace);
      for (size_t t = begin; t < stop; ++t) {
        std::copy_n(workspace->out.data() + (t - begin) * out_dim_, out_dim_, result[t].data());
      }
      begin = stop;
    }
    workspaces_.Give(std::move(workspace));
  };
  std::vector<std::thread> helpers;
  for (int s = 1; s < shards; ++s) helpers.emplace_back(run_shard, bounds[s], bounds[s + 1]);
  run_shard(bounds[0], bounds[1]);
  for (std::thread& helper : helpers) helper.join();
  return result;
}

void UseLiteModel::Forward(const std::vector<int>& ids, const std::vector<int>& lengths, Workspace& w) const {
  const int tokens = static_cast<int>(ids.size());
  const int e = embed_dim_;
  float* x = Grow(w.x, static_cast<size_t>(tokens) * max_width_);
  int row = 0;
  for (int length : lengths) {
    for (int pos = 0; pos < length; ++pos, ++row) {
      const float* emb = embeddings_.data() + static_cast<size_t>(ids[row]) * e;
      const float* timing = timing_signal_.data() + static_cast<size_t>(pos) * e;
      float* xr = x + static_cast<size_t>(row) * e;
      for (int k = 0; k < e; ++k) xr[k] = 2 * emb[k] + timing[k];
    }
  }
  float* y = Grow(w.y, static_cast<size_t>(tokens) * max_width_);
  for (const Layer& layer : layers_) {
    RunLayer(layer, lengths, tokens, x, y, w);
    std::swap(x, y);
  }

  const int d = out_dim_;
  const int texts = static_cast<int>(lengths.size());
  float* pooled = Grow(w.pooled, static_cast<size_t>(texts) * d);
  std::fill_n(pooled, static_cast<size_t>(texts) * d, 0.0f);
  row = 0;
  for (int t = 0; t < texts; ++t) {
    float* p = pooled + static_cast<size_t>(t) * d;
    for (int pos = 0; pos < lengths[t]; ++pos, ++row) {
      const float* xr = x + static_cast<size_t>(row) * d;
      for (int i = 0; i < d; ++i) p[i] += xr[i];
    }
    const float count = static_cast<float>(std::max(lengths[t], 1));
    for (int i = 0; i < d; ++i) p[i] /= count;
  }
  float* out = Grow(w.out, static_cast<size_t>(texts) * d);
  final_.Multiply(texts, pooled, Epilogue::kStore, out);
  for (int t = 0; t < texts; ++t) {
    float* o = out + static_cast<size_t>(t) * d;
    float sum = 0;
    for (int i = 0; i < d; ++i) {
      o[i] = std::tanh(o[i]);
      sum += o[i] * o[i];
    }
    const float inv = 1.0f / std::sqrt(std::max(sum, l2_epsilon_));
    for (int i = 0; i < d; ++i) o[i] *= inv;
  }
}

void UseLiteModel::RunLayer(const Layer& layer, const std::vector<int>& lengths, int tokens, const float* in,
                            float* out, Workspace& w) const {
  const int da = layer.d_attn, dm = layer.d_model, head_dim = da / layer.heads;
  const size_t m = static_cast<size_t>(tokens);
  float* h = Grow(w.h, m * layer.d_in);
  LayerNorm(in, tokens, layer.d_in, layer.ln_scale.data(), layer.ln_bias.data(), ln_epsilon_, h);
  float* qkv = Grow(w.qkv, m * 3 * da);
  layer.qkv.Multiply(tokens, h, Epilogue::kStore, qkv);

  // Attention within each text, head by head: scores = scale·Q·Kᵀ, softmax, ·V.
  float* attention = Grow(w.attention, m * da);
  int offset = 0;
  for (int length : lengths) {
    if (length > 0) {
      float* scores = Grow(w.scores, static_cast<size_t>(length) * length);
      const float* base = qkv + static_cast<size_t>(offset) * 3 * da;
      for (int head = 0; head < layer.heads; ++head) {
        const float* q = base + head * head_dim;
        const float* k = base + da + head * head_dim;
        const float* v = base + 2 * da + head * head_dim;
        Sgemm(true, length, length, head_dim, layer.q_scale, q, 3 * da, k, 3 * da, 0.0f, scores, length);
        SoftmaxRows(scores, length, length);
        float* o = attention + static_cast<size_t>(offset) * da + head * head_dim;
        Sgemm(false, length, head_dim, length, 1.0f, scores, length, v, 3 * da, 0.0f, o, da);
      }
    }
    offset += length;
  }

  // out = attention·W_o + b_o + residual
  if (layer.residual.empty()) {
    std::copy_n(in, m * dm, out);
  } else {
    layer.residual.Multiply(tokens, in, Epilogue::kStore, out);
  }
  layer.out.Multiply(tokens, attention, Epilogue::kAccumulate, out);

  // out += FFN(LN(out))
  float* f = Grow(w.f, m * dm);
  LayerNorm(out, tokens, dm, layer.ffn_ln_scale.data(), layer.ffn_ln_bias.data(), ln_epsilon_, f);
  float* hidden = Grow(w.hidden, m * layer.d_ff);
  layer.ffn1.Multiply(tokens, f, Epilogue::kRelu, hidden);
  layer.ffn2.Multiply(tokens, hidden, Epilogue::kAccumulate, out);
}

}  // namespace deskpipe::embed
