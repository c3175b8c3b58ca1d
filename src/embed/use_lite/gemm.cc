#include "embed/use_lite/gemm.h"

#include <cblas.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>

#include "embed/use_lite/vectorized.h"

namespace deskpipe::embed {
namespace {

// The CBLAS sgemm signature with plain ints (CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112 in
// every CBLAS), so BLIS's symbol can be called without its header.
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float,
                            float*, int);

enum class Backend { kOpenBlas, kBlis, kEigen, kOneDnnBf16 };

std::atomic<Backend> g_backend{Backend::kOpenBlas};
std::atomic<CblasSgemm> g_blis{nullptr};

bool CpuHasAvx2Fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

// Loads BLIS once; nullptr when it is not installed.
CblasSgemm LoadBlis() {
  static std::once_flag once;
  static CblasSgemm sgemm = nullptr;
  std::call_once(once, [] {
    void* handle = dlopen("libblis.so.4", RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) return;
    using SetThreads = void (*)(long);
    if (auto set_threads = reinterpret_cast<SetThreads>(dlsym(handle, "bli_thread_set_num_threads"))) set_threads(1);
    sgemm = reinterpret_cast<CblasSgemm>(dlsym(handle, "cblas_sgemm"));
  });
  return sgemm;
}

struct OneDnnBf16Module {
  const OneDnnBf16Api* api = nullptr;
  std::string why_not;  // when api is nullptr
};

// Loads the bfloat16 module once: beside the executable (an installed layout), else where the build put it.
const OneDnnBf16Module& LoadOneDnnBf16() {
  static const OneDnnBf16Module module = [] {
    OneDnnBf16Module loaded;
    if (!__builtin_cpu_supports("avx512bf16")) {
      loaded.why_not = "needs a CPU with AVX512-BF16";
      return loaded;
    }
    std::error_code error;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
    std::vector<std::string> candidates;
    if (!error) candidates.push_back((exe.parent_path() / kOneDnnBf16Module).string());
    candidates.push_back(DESKPIPE_ONEDNN_BF16_MODULE);
    for (const std::string& path : candidates) {
      if (!std::filesystem::exists(path, error)) continue;
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) {
        loaded.why_not = std::string("cannot load ") + path + ": " + dlerror();
        return loaded;
      }
      using Entry = const OneDnnBf16Api* (*)();
      auto entry = reinterpret_cast<Entry>(dlsym(handle, "deskpipe_onednn_bf16_api"));
      loaded.api = entry != nullptr ? entry() : nullptr;
      if (loaded.api == nullptr) loaded.why_not = "oneDNN does not use AVX512-BF16 on this CPU";
      return loaded;
    }
    loaded.why_not = std::string(kOneDnnBf16Module) + " not found beside the executable or at " +
                     DESKPIPE_ONEDNN_BF16_MODULE;
    return loaded;
  }();
  return module;
}

// rows × n values of `c` += bias, then max(…, 0) when `relu`.
DESKPIPE_VECTORIZED
void AddBiasRows(float* c, int rows, int n, const float* bias, bool relu) {
  for (int r = 0; r < rows; ++r) {
    float* y = c + static_cast<size_t>(r) * n;
#pragma omp simd
    for (int i = 0; i < n; ++i) y[i] += bias[i];
    if (relu) {
#pragma omp simd
      for (int i = 0; i < n; ++i) y[i] = std::max(y[i], 0.0f);
    }
  }
}

}  // namespace

void Sgemm(bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  switch (g_backend.load(std::memory_order_relaxed)) {
    case Backend::kEigen:
      EigenSgemm(trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    case Backend::kBlis:
      g_blis.load(std::memory_order_relaxed)(101, 111, trans_b ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta,
                                             c, ldc);
      return;
    case Backend::kOneDnnBf16:  // its own products are WeightMatrix's; the rest are OpenBLAS's
    case Backend::kOpenBlas:
      cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
                  beta, c, ldc);
      return;
  }
}

struct WeightMatrix::Prepared {
  std::once_flag bf16_once;
  std::shared_ptr<const OneDnnBf16Weights> bf16;  // nullptr: not prepared, or oneDNN could not
};

WeightMatrix::WeightMatrix(std::vector<float> values, std::vector<float> bias, int k, int n)
    : values_(std::move(values)), bias_(std::move(bias)), k_(k), n_(n), prepared_(std::make_shared<Prepared>()) {}

void WeightMatrix::Multiply(int m, const float* a, Epilogue then, float* c) const {
  if (m == 0) return;
  if (g_backend.load(std::memory_order_relaxed) == Backend::kOneDnnBf16) {
    const OneDnnBf16Api& bf16 = *LoadOneDnnBf16().api;  // loaded when the backend was selected
    if (bf16.suits(k_, n_)) {
      std::call_once(prepared_->bf16_once,
                     [&] { prepared_->bf16 = bf16.prepare(values_.data(), bias_.data(), k_, n_); });
      if (prepared_->bf16 && bf16.multiply(*prepared_->bf16, m, a, then, c)) return;
    }
  }
  Sgemm(false, m, n_, k_, 1.0f, a, k_, values_.data(), n_, then == Epilogue::kAccumulate ? 1.0f : 0.0f, c, n_);
  AddBiasRows(c, m, n_, bias_.data(), then == Epilogue::kRelu);
}

Result<void> SetGemmBackend(std::string_view name) {
  if (name == "openblas") {
    g_backend = Backend::kOpenBlas;
  } else if (name == "blis") {
    CblasSgemm sgemm = LoadBlis();
    if (sgemm == nullptr) return Error(Unavailable("BLAS 'blis': libblis.so.4 not found (apt install libblis4)"));
    g_blis = sgemm;
    g_backend = Backend::kBlis;
  } else if (name == "eigen") {
    if (!CpuHasAvx2Fma()) return Error(Unavailable("BLAS 'eigen' needs a CPU with AVX2 and FMA"));
    g_backend = Backend::kEigen;
  } else if (name == "onednn-bf16") {
    const OneDnnBf16Module& module = LoadOneDnnBf16();
    if (module.api == nullptr) return Error(Unavailable("BLAS 'onednn-bf16' " + module.why_not));
    g_backend = Backend::kOneDnnBf16;
  } else {
    return Error(InvalidArgument("unknown BLAS '" + std::string(name) +
                                 "'; valid: openblas, blis, eigen, onednn-bf16"));
  }
  return {};
}

std::string GemmBackendName() {
  switch (g_backend.load()) {
    case Backend::kEigen:
      return "eigen";
    case Backend::kBlis:
      return "blis";
    case Backend::kOneDnnBf16:
      return "onednn-bf16";
    case Backend::kOpenBlas:
      break;
  }
  return "openblas";
}

std::vector<std::string> AvailableGemmBackends() {
  std::vector<std::string> names = {"openblas"};
  if (LoadBlis() != nullptr) names.push_back("blis");
  if (CpuHasAvx2Fma()) names.push_back("eigen");
  if (LoadOneDnnBf16().api != nullptr) names.push_back("onednn-bf16");
  return names;
}

Result<void> SelectDefaultGemmBackend() {
  if (const char* env = std::getenv("DESKPIPE_BLAS"); env != nullptr && *env) {
    auto set = SetGemmBackend(env);
    if (!set) return Error(set.error().WithContext("DESKPIPE_BLAS"));
    return {};
  }
  if (SetGemmBackend(kDefaultGemm)) return {};
  return SetGemmBackend("openblas");
}

}  // namespace deskpipe::embed
