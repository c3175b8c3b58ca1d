// bfloat16 products on oneDNN for gemm.h's "onednn-bf16" backend: the one file of the module gemm.cc loads
// with dlopen (libdeskpipe_onednn_bf16.so), compiled with AVX512-BF16 (see CMakeLists.txt) for the float →
// bfloat16 conversion. gemm.cc loads it only on CPUs with that instruction set; the entry point says whether
// oneDNN uses it too.
//
// Activations are rounded to bfloat16 (8 significant bits) and multiplied by weights kept in bfloat16, with
// float32 sums: ~2.2x OpenBLAS's float32 rate on the model's shapes here (bench_embed). Only weight matrices
// with k ≥ 512 and n ≥ 256 take this path: the attention products are small, and rounding the first layer's
// 256-wide inputs as well took the worst text of the reference test from cosine 0.99997 to 0.99989 for no
// measurable speed. The rule never looks at the row count. Yet a text's vector moves slightly with its batch
// (cosine ≥ 0.99999): OpenBLAS's attention sums differ in the last bit between batches, and rounding to
// bfloat16 can turn that into a step of the 8th bit.
//
// oneDNN's matmul with the row count fixed at creation runs its brgemm kernels (~420 GFLOPS per core here,
// against ~330 for the generic gemm it picks when the row count is left to run time, which also allocates
// packing buffers on every call) and takes its working memory from a scratchpad we hand it. So a product of
// m rows runs as m rounded down to a multiple of kRowBlock, written in place, plus one zero-padded block for
// the rest: this bounds the shapes created (about 1 ms each, once).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <vector>

#include "embed/use_lite/gemm.h"
#include "embed/use_lite/scratch.h"

namespace deskpipe::embed {

struct OneDnnBf16Weights {
  int k = 0, n = 0;
  dnnl::memory weights;      // bfloat16, in the layout the kernels read; oneDNN owns its buffer
  std::vector<float> bias;   // n
  dnnl::memory bias_memory;  // over `bias`
};

namespace {

using dnnl::memory;

constexpr int kRowBlock = 64;

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc Activations(int rows, int cols, memory::data_type type) {
  return memory::desc({rows, cols}, type, memory::format_tag::ab);
}

// One matmul for a (rows, weights, epilogue) shape, bias included, shared by every thread: each call brings
// its own scratchpad (scratchpad_mode::user), which is what makes concurrent execution safe.
struct Product {
  dnnl::matmul::primitive_desc desc;
  dnnl::matmul primitive;
};

dnnl::matmul::primitive_desc MakeProductDesc(int rows, int k, int n, const memory::desc& weights,
                                             Epilogue then) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops post_ops;
  if (then == Epilogue::kAccumulate) post_ops.append_sum(1.0f);
  if (then == Epilogue::kRelu) post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  attr.set_post_ops(post_ops);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(Activations(rows, k, memory::data_type::bf16),
                                                         weights, Activations(1, n, memory::data_type::f32),
                                                         Activations(rows, n, memory::data_type::f32)),
                                      attr, Engine());
}

// Made on first use and kept for the process's life. Throws dnnl::error when oneDNN cannot make it.
const Product& ProductFor(int rows, const OneDnnBf16Weights& w, Epilogue then) {
  static std::mutex mutex;
  static std::map<std::tuple<int, int, int, Epilogue>, std::unique_ptr<Product>> products;
  std::lock_guard lock(mutex);
  auto& slot = products[{rows, w.k, w.n, then}];
  if (!slot) {
    auto desc = MakeProductDesc(rows, w.k, w.n, w.weights.get_desc(), then);
    slot = std::make_unique<Product>(Product{desc, dnnl::matmul(desc)});
  }
  return *slot;
}

// Rows of `x` (contiguous, `cols` wide) in bfloat16, rounded to nearest even as the hardware does.
void ToBf16(const float* x, size_t rows, int cols, uint16_t* y) {
  const size_t count = rows * cols;
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const __m256bh packed = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
    std::memcpy(y + i, &packed, sizeof packed);
  }
  for (; i < count; ++i) {
    const __m128bh one = _mm_cvtneps_pbh(_mm_set_ss(x[i]));
    std::memcpy(y + i, &one, sizeof(uint16_t));
  }
}

// Working memory of one product, pooled (scratch.h).
struct Buffers {
  std::vector<uint16_t> a;
  std::vector<float> tail;
  std::vector<uint8_t> pad;
};

ScratchPool<Buffers>& Pool() {
  static ScratchPool<Buffers> pool;
  return pool;
}

void Execute(const Product& product, const OneDnnBf16Weights& w, uint16_t* a, float* c, Buffers& buffers) {
  dnnl::engine& engine = Engine();
  uint8_t* pad = Grow(buffers.pad, product.desc.scratchpad_desc().get_size());
  dnnl::stream stream(engine);
  product.primitive.execute(stream,
                            {{DNNL_ARG_SRC, memory(product.desc.src_desc(), engine, a)},
                             {DNNL_ARG_WEIGHTS, w.weights},
                             {DNNL_ARG_BIAS, w.bias_memory},
                             {DNNL_ARG_DST, memory(product.desc.dst_desc(), engine, c)},
                             {DNNL_ARG_SCRATCHPAD, memory(product.desc.scratchpad_desc(), engine, pad)}});
  stream.wait();
}

bool OneDnnBf16Suits(int k, int n) { return k >= 512 && n >= 256; }

std::shared_ptr<const OneDnnBf16Weights> OneDnnBf16Prepare(const float* w, const float* bias, int k, int n) {
  try {
    auto prepared = std::make_shared<OneDnnBf16Weights>();
    prepared->k = k;
    prepared->n = n;
    prepared->bias.assign(bias, bias + n);
    // The layout the kernels prefer for one row block; products of other row counts are created with it.
    const memory::desc any({k, n}, memory::data_type::bf16, memory::format_tag::any);
    dnnl::engine& engine = Engine();
    prepared->weights = memory(MakeProductDesc(kRowBlock, k, n, any, Epilogue::kStore).weights_desc(), engine);
    memory plain(Activations(k, n, memory::data_type::f32), engine, const_cast<float*>(w));
    dnnl::stream stream(engine);
    dnnl::reorder(plain, prepared->weights).execute(stream, plain, prepared->weights);
    stream.wait();
    prepared->bias_memory = memory(Activations(1, n, memory::data_type::f32), engine, prepared->bias.data());
    return prepared;
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

bool OneDnnBf16Multiply(const OneDnnBf16Weights& w, int m, const float* a, Epilogue then, float* c) {
  omp_set_num_threads(1);  // oneDNN runs OpenMP teams: one thread per call, as gemm.h says
  const int bulk = m / kRowBlock * kRowBlock, rest = m - bulk;
  const Product *bulk_product = nullptr, *rest_product = nullptr;
  try {
    if (bulk > 0) bulk_product = &ProductFor(bulk, w, then);
    if (rest > 0) rest_product = &ProductFor(kRowBlock, w, then);
  } catch (const dnnl::error&) {
    return false;
  }
  std::unique_ptr<Buffers> buffers = Pool().Take();
  const size_t k = w.k, n = w.n;
  uint16_t* a16 = Grow(buffers->a, (bulk + (rest > 0 ? kRowBlock : 0)) * k);
  ToBf16(a, m, w.k, a16);
  if (bulk_product) Execute(*bulk_product, w, a16, c, *buffers);
  if (rest_product) {
    std::fill(a16 + m * k, a16 + (bulk + kRowBlock) * k, uint16_t{0});
    float* tail = Grow(buffers->tail, kRowBlock * n);
    float* c_rest = c + bulk * n;
    if (then == Epilogue::kAccumulate) std::copy_n(c_rest, rest * n, tail);
    Execute(*rest_product, w, a16 + bulk * k, tail, *buffers);
    std::copy_n(tail, rest * n, c_rest);
  }
  Pool().Give(std::move(buffers));
  return true;
}

}  // namespace

extern "C" const OneDnnBf16Api* deskpipe_onednn_bf16_api() {
  static const OneDnnBf16Api api{OneDnnBf16Suits, OneDnnBf16Prepare, OneDnnBf16Multiply};
  const bool usable = __builtin_cpu_supports("avx512bf16") &&
                      dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core_bf16;
  return usable ? &api : nullptr;
}

}  // namespace deskpipe::embed
