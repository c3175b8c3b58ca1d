#include "embed/use_lite/blas_runtime.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>

namespace deskpipe::embed {

std::string BlasCoreName() {
  const char* name = openblas_get_corename();
  return name ? name : "";
}

void SetBlasThreads(int threads) { openblas_set_num_threads(threads); }

std::string BetterBlasCoreType(std::string_view picked_core, bool cpu_has_avx2_fma,
                               bool coretype_already_set, bool cpu_has_avx512) {
  if (coretype_already_set || !cpu_has_avx2_fma) return "";
  // OpenBLAS's x86-64 kernel sets older than AVX2 (names as openblas_get_corename() reports them).
  static constexpr std::string_view kPreAvx2[] = {"Prescott",    "Core2",       "Penryn",    "Dunnington",
                                                  "Nehalem",     "Atom",        "Opteron",   "Barcelona",
                                                  "Bobcat",      "Sandybridge", "Bulldozer", "Piledriver",
                                                  "Steamroller", "Excavator",   "Unknown"};
  for (std::string_view core : kPreAvx2) {
    if (picked_core == core) return cpu_has_avx512 ? "SkylakeX" : "Haswell";
  }
  return "";
}

void ReexecWithBetterBlasCoreIfNeeded(char** argv) {
  const char* set = std::getenv("OPENBLAS_CORETYPE");
  const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2_fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  const std::string core = BetterBlasCoreType(BlasCoreName(), avx2_fma, set != nullptr, avx512);
  if (core.empty()) return;
  // Once set, the variable is inherited, so the re-executed process never loops.
  if (setenv("OPENBLAS_CORETYPE", core.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
}

}  // namespace deskpipe::embed
