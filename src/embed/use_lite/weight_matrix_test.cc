#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "embed/use_lite/gemm.h"

namespace deskpipe::embed {
namespace {

// C = epilogue(A·W + bias) in double, the plain way.
std::vector<double> Expected(const std::vector<float>& a, const std::vector<float>& w, const std::vector<float>& bias,
                             const std::vector<float>& c_before, int m, int k, int n, Epilogue then) {
  std::vector<double> c(static_cast<size_t>(m) * n);
  for (int r = 0; r < m; ++r) {
    for (int j = 0; j < n; ++j) {
      double sum = bias[j];
      for (int i = 0; i < k; ++i) sum += static_cast<double>(a[r * k + i]) * w[i * n + j];
      if (then == Epilogue::kAccumulate) sum += c_before[r * n + j];
      if (then == Epilogue::kRelu) sum = std::max(sum, 0.0);
      c[r * n + j] = sum;
    }
  }
  return c;
}

// Every backend, row counts around oneDNN's 64-row blocks (whole blocks, a remainder, one row) and every
// epilogue: the error relative to the result's size stays within the backend's precision.
TEST(WeightMatrixTest, EveryBackendMultipliesAddsTheBiasAndLandsAsAsked) {
  const int k = 512, n = 256;
  std::mt19937 random(7);
  std::normal_distribution<float> normal;
  std::vector<float> w(static_cast<size_t>(k) * n), bias(n);
  for (float& x : w) x = normal(random) * 0.05f;
  for (float& x : bias) x = normal(random);
  const WeightMatrix matrix(w, bias, k, n);
  const std::string chosen = GemmBackendName();
  for (const std::string& backend : AvailableGemmBackends()) {
    ASSERT_TRUE(SetGemmBackend(backend));
    const double tolerance = backend == "onednn-bf16" ? 1e-2 : 1e-5;  // 8 significant bits against 24
    for (int m : {1, 63, 64, 65, 200}) {
      std::vector<float> a(static_cast<size_t>(m) * k), c_before(static_cast<size_t>(m) * n);
      for (float& x : a) x = normal(random);
      for (float& x : c_before) x = normal(random);
      for (Epilogue then : {Epilogue::kStore, Epilogue::kAccumulate, Epilogue::kRelu}) {
        std::vector<float> c = c_before;
        matrix.Multiply(m, a.data(), then, c.data());
        const std::vector<double> expected = Expected(a, w, bias, c_before, m, k, n, then);
        double error = 0, size = 0;
        for (size_t i = 0; i < c.size(); ++i) {
          error += (c[i] - expected[i]) * (c[i] - expected[i]);
          size += expected[i] * expected[i];
        }
        EXPECT_LT(std::sqrt(error / size), tolerance)
            << backend << ", " << m << " rows, epilogue " << static_cast<int>(then);
        if (then == Epilogue::kRelu) {
          EXPECT_GE(*std::min_element(c.begin(), c.end()), 0.0f) << backend;
        }
      }
    }
  }
  ASSERT_TRUE(SetGemmBackend(chosen));
}

// Whether this process maps a shared object whose file name contains `name`.
bool Mapped(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(name) != std::string::npos) return true;
  }
  return false;
}

// oneDNN, its OpenMP runtime and the OpenCL loader it links are mapped only once the bfloat16 backend is
// selected; a fresh process (gtest re-executes the binary for this) has none of them.
TEST(OneDnnModuleDeathTest, MappedOnlyOnceTheBfloat16BackendIsSelected) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        int code = 0;
        if (Mapped("libdnnl") || Mapped("libOpenCL") || Mapped("libgomp")) code = 1;
        (void)SetGemmBackend("openblas");
        (void)AvailableGemmBackends().size();  // looks for the module without a CPU that could use it
        if (!__builtin_cpu_supports("avx512bf16") && Mapped("libdnnl")) code = 2;
        if (SetGemmBackend("onednn-bf16") && !Mapped("libdnnl")) code = 3;
        std::exit(code);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace deskpipe::embed
