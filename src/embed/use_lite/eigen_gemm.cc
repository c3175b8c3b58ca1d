// Eigen's GEMM for gemm.h. This file alone is compiled with -mavx2 -mfma (see CMakeLists.txt) and is the only
// one that includes Eigen, so no AVX2 code leaks into functions shared with other translation units; gemm.cc
// calls it only after checking the CPU.
#include <Eigen/Core>

#include "embed/use_lite/gemm.h"

namespace deskpipe::embed {

void EigenSgemm(bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                float beta, float* c, int ldc) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<const RowMajor, 0, Stride> A(a, m, k, Stride(lda));
  Eigen::Map<RowMajor, 0, Stride> C(c, m, n, Stride(ldc));
  if (beta == 0.0f) {
    C.setZero();
  } else if (beta != 1.0f) {
    C *= beta;
  }
  if (trans_b) {
    Eigen::Map<const RowMajor, 0, Stride> B(b, n, k, Stride(ldb));
    C.noalias() += alpha * A * B.transpose();
  } else {
    Eigen::Map<const RowMajor, 0, Stride> B(b, k, n, Stride(ldb));
    C.noalias() += alpha * A * B;
  }
}

}  // namespace deskpipe::embed
