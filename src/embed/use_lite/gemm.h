// The matrix product behind the USE-lite forward pass, with the BLAS chosen at run time, so one binary can
// compare them and the fastest is the default without the user setting anything:
//   "openblas"  OpenBLAS, linked (its kernels depend on OPENBLAS_CORETYPE, see blas_runtime.h)
//   "blis"      BLIS, loaded with dlopen("libblis.so.4") when asked for (Debian libblis4)
//   "eigen"     Eigen 3.4, compiled into deskpipe for AVX2+FMA (used only on CPUs that have them)
//   "onednn-bf16"  oneDNN, multiplying by the model's weights in bfloat16 with float32 sums (CPUs with
//               AVX512-BF16 only); the other products go to OpenBLAS. ~2x float32's rate, vectors within
//               cosine 0.9999 of it (onednn_gemm.cc)
// Every backend runs single-threaded inside a call: the model shards batches over its own threads.
// Thread-safety: Sgemm() may be called from any thread; select the backend at start-up, before embedding.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace deskpipe::embed {

// C[m×n] = alpha·A·op(B) + beta·C, all row-major; A is m×k; B is k×n, or n×k when trans_b.
void Sgemm(bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc);

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

// Implemented in onednn_gemm.cc, compiled with AVX512-BF16; call the product only when available, and only
// for what OneDnnBf16Takes(): C = A·B (+ C when beta is 1), B k×n not transposed.
bool OneDnnBf16Available();
bool OneDnnBf16Takes(bool trans_b, int n, int k, float alpha, float beta);
void OneDnnBf16Sgemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float beta, float* c,
                     int ldc);

}  // namespace deskpipe::embed
