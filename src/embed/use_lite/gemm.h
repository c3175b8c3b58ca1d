// The matrix product behind the USE-lite forward pass, with the BLAS chosen at run time, so one binary can
// compare them and the fastest is the default without the user setting anything:
//   "openblas"  OpenBLAS, linked (its kernels depend on OPENBLAS_CORETYPE, see blas_runtime.h)
//   "blis"      BLIS, loaded with dlopen("libblis.so.4") when asked for (Debian libblis4)
//   "eigen"     Eigen 3.4, compiled into deskpipe for AVX2+FMA (used only on CPUs that have them)
//   "onednn-bf16"  oneDNN, multiplying by the model's larger weight matrices in bfloat16 with float32 sums
//               (CPUs with AVX512-BF16 only); every other product goes to OpenBLAS (onednn_gemm.cc)
// Every backend runs single-threaded inside a call: the model shards batches over its own threads.
// Thread-safety: Sgemm() and WeightMatrix::Multiply() may be called from any thread; select the backend at
// start-up, before embedding.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace deskpipe::embed {

// C[m×n] = alpha·A·op(B) + beta·C, all row-major; A is m×k; B is k×n, or n×k when trans_b.
void Sgemm(bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc);

// How a product's result lands in C: stored, added to C's values, or stored after a ReLU (max with 0).
enum class Epilogue { kStore, kAccumulate, kRelu };

// A dense layer's weights (k × n, row-major) and bias (n), which activations are multiplied by many times
// over its life. The bfloat16 backend keeps the weights converted, in the layout oneDNN's kernels read, from
// first use on, and adds the bias and the epilogue in the same pass. Thread-safety: Multiply() may run on
// several threads at once. Lifetime: copies share the prepared forms.
class WeightMatrix {
 public:
  WeightMatrix() = default;
  WeightMatrix(std::vector<float> values, std::vector<float> bias, int k, int n);

  bool empty() const { return values_.empty(); }
  // C[m × n] = A[m × k] · W + bias, landing as `then` says; rows of A and C are contiguous.
  void Multiply(int m, const float* a, Epilogue then, float* c) const;

 private:
  struct Prepared;
  std::vector<float> values_, bias_;
  int k_ = 0, n_ = 0;
  std::shared_ptr<Prepared> prepared_;
};

// Selects a backend by name. InvalidArgument for an unknown name, Unavailable when the backend cannot run
// here (library missing, CPU without AVX2/FMA for eigen); the backend in use is then unchanged.
Result<void> SetGemmBackend(std::string_view name);
std::string GemmBackendName();
// The backends that can run on this machine.
std::vector<std::string> AvailableGemmBackends();

// The default for this process: $DESKPIPE_BLAS when set (an error if it cannot be used), else kDefaultGemm
// when it can run here, else OpenBLAS.
Result<void> SelectDefaultGemmBackend();
inline constexpr std::string_view kDefaultGemm = "onednn-bf16";  // measured fastest here: bench/embed_bench.cc

// Implemented in eigen_gemm.cc, compiled with -mavx2 -mfma; call only when the CPU has both.
void EigenSgemm(bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                float beta, float* c, int ldc);

// The bfloat16 backend is a module of its own (libdeskpipe_onednn_bf16.so, onednn_gemm.cc, compiled with
// AVX512-BF16), loaded with dlopen the first time it is asked for: oneDNN, its OpenMP runtime and the OpenCL
// loader oneDNN links are mapped only by processes that multiply in bfloat16. suits() says which weight shapes
// take the bfloat16 path; prepare() gives nullptr, and multiply() false before writing anything, when oneDNN
// cannot run the product, and the caller then multiplies in float32.
struct OneDnnBf16Weights;
struct OneDnnBf16Api {
  bool (*suits)(int k, int n);
  std::shared_ptr<const OneDnnBf16Weights> (*prepare)(const float* w, const float* bias, int k, int n);
  bool (*multiply)(const OneDnnBf16Weights& w, int m, const float* a, Epilogue then, float* c);
};
// The module's entry point; nullptr when oneDNN cannot use AVX512-BF16 on this CPU.
extern "C" const OneDnnBf16Api* deskpipe_onednn_bf16_api();
inline constexpr const char* kOneDnnBf16Module = "libdeskpipe_onednn_bf16.so";

}  // namespace deskpipe::embed
