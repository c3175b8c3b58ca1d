// bfloat16 products on oneDNN for gemm.h's "onednn-bf16" backend. This file alone is compiled with
// AVX512-BF16 (see CMakeLists.txt) for the float → bfloat16 conversion; gemm.cc calls it only after
// OneDnnBf16Available() said the CPU has that instruction set and oneDNN uses it.
//
// The inputs are rounded to bfloat16 (8 significant bits) and multiplied with float32 sums, at 1.7x the rate
// of OpenBLAS's float32 on CPUs with AVX512-BF16 (bench_embed). Only the model's weight products with k ≥ 512
// take this path (B not transposed, n ≥ 256, alpha 1, beta 0 or 1): the attention products are small, and
// rounding the first layer's 256-wide inputs as well took the worst text of the reference test from cosine
// 0.99997 to 0.99989 for no measurable speed. The rule never looks at the row count. Yet a text's vector
// moves slightly with its batch (cosine ≥ 0.99999): OpenBLAS's attention sums differ in the last bit
// between batches, and rounding to bfloat16 can turn that into a step of the 8th bit.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "embed/use_lite/gemm.h"

namespace deskpipe::embed {
namespace {

using dnnl::memory;

// oneDNN's matmul with the row count fixed at creation runs its faster kernels (brgemm) and takes all its
// working memory from a scratchpad we hand it; left to run time, the row count costs ~40 % more CPU in a sync,
// much of it in allocating and clearing packing buffers per call. So rows are padded to a multiple of
// kRowBlock, which bounds the shapes created (about 1 ms each, once).
constexpr int kRowBlock = 64;

// One matmul for a (rows, k, n, beta) shape, shared by every thread: each call brings its own scratchpad
// (scratchpad_mode::user), which is what makes concurrent execution safe.
struct Product {
  dnnl::matmul::primitive_desc desc;
  dnnl::matmul primitive;
};

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

const Product& ProductFor(int rows, int k, int n, bool accumulate) {
  static std::mutex mutex;
  static std::map<std::tuple<int, int, int, bool>, std::unique_ptr<Product>> products;
  std::lock_guard lock(mutex);
  auto& slot = products[{rows, k, n, accumulate}];
  if (!slot) {
    memory::desc a({rows, k}, memory::data_type::bf16, memory::format_tag::ab);
    memory::desc b({k, n}, memory::data_type::bf16, memory::format_tag::ab);
    memory::desc c({rows, n}, memory::data_type::f32, memory::format_tag::ab);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (accumulate) {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      attr.set_post_ops(sum);
    }
    dnnl::matmul::primitive_desc desc(dnnl::matmul::desc(a, b, c), attr, Engine());
    slot = std::make_unique<Product>(Product{desc, dnnl::matmul(desc)});
  }
  return *slot;
}

// Grows `v` to at least `n` elements and never shrinks it, so a buffer is cleared only when it first grows.
template <typename T>
T* AtLeast(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// Rounds to nearest even, as the hardware conversion does; rows from `rows` to `padded_rows` are zeros.
uint16_t* ToBf16(const float* x, int rows, int padded_rows, int cols, int ld, std::vector<uint16_t>& buffer) {
  uint16_t* const out = AtLeast(buffer, static_cast<size_t>(padded_rows) * cols);
  uint16_t* y = out;
  for (int r = 0; r < rows; ++r, x += ld, y += cols) {
    int i = 0;
    for (; i + 16 <= cols; i += 16) {
      const __m256bh packed = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
      std::memcpy(y + i, &packed, sizeof packed);
    }
    for (; i < cols; ++i) {
      const __m128bh one = _mm_cvtneps_pbh(_mm_set_ss(x[i]));
      std::memcpy(y + i, &one, sizeof(uint16_t));
    }
  }
  std::fill(y, out + static_cast<size_t>(padded_rows) * cols, uint16_t{0});
  return out;
}

// Working memory of one product. The model starts its shard threads per call, so buffers are pooled rather
// than per thread: fresh ones would be fresh pages, faulted in and cleared on every call.
struct Buffers {
  std::vector<uint16_t> a, b;
  std::vector<float> c;
  std::vector<uint8_t> pad;
};

class BufferPool {
 public:
  std::unique_ptr<Buffers> Take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return std::make_unique<Buffers>();
    std::unique_ptr<Buffers> buffers = std::move(free_.back());
    free_.pop_back();
    return buffers;
  }
  void Give(std::unique_ptr<Buffers> buffers) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(buffers));
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Buffers>> free_;
};

BufferPool& Pool() {
  static BufferPool pool;
  return pool;
}

}  // namespace

bool OneDnnBf16Available() {
  return __builtin_cpu_supports("avx512bf16") && dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core_bf16;
}

bool OneDnnBf16Takes(bool trans_b, int n, int k, float alpha, float beta) {
  return !trans_b && n >= 256 && k >= 512 && alpha == 1.0f && (beta == 0.0f || beta == 1.0f);
}

void OneDnnBf16Sgemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float beta, float* c,
                     int ldc) {
  omp_set_num_threads(1);  // oneDNN runs OpenMP teams: one thread per call, as gemm.h says
  std::unique_ptr<Buffers> buffers = Pool().Take();
  const int rows = (m + kRowBlock - 1) / kRowBlock * kRowBlock;
  const Product& product = ProductFor(rows, k, n, beta != 0.0f);
  uint16_t* a16 = ToBf16(a, m, rows, k, lda, buffers->a);
  uint16_t* b16 = ToBf16(b, k, k, n, ldb, buffers->b);
  float* out = AtLeast(buffers->c, static_cast<size_t>(rows) * n);
  if (beta != 0.0f) {
    for (int r = 0; r < m; ++r) std::copy_n(c + static_cast<size_t>(r) * ldc, n, out + static_cast<size_t>(r) * n);
  }
  uint8_t* pad = AtLeast(buffers->pad, product.desc.scratchpad_desc().get_size());
  dnnl::engine& engine = Engine();
  memory a_mem(product.desc.src_desc(), engine, a16);
  memory b_mem(product.desc.weights_desc(), engine, b16);
  memory c_mem(product.desc.dst_desc(), engine, out);
  memory pad_mem(product.desc.scratchpad_desc(), engine, pad);
  dnnl::stream stream(engine);
  product.primitive.execute(stream, {{DNNL_ARG_SRC, a_mem},
                                     {DNNL_ARG_WEIGHTS, b_mem},
                                     {DNNL_ARG_DST, c_mem},
                                     {DNNL_ARG_SCRATCHPAD, pad_mem}});
  stream.wait();
  for (int r = 0; r < m; ++r) std::copy_n(out + static_cast<size_t>(r) * n, n, c + static_cast<size_t>(r) * ldc);
  Pool().Give(std::move(buffers));
}

}  // namespace deskpipe::embed
