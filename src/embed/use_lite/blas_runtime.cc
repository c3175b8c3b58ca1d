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
  // The AVX2 sets: what OpenBLAS may pick for an AVX-512 CPU newer than the library.
  static constexpr std::string_view kAvx2[] = {"Haswell", "Zen"};
  for (std::string_view core : kPreAvx2) {
    if (picked_core == core) return cpu_has_avx512 ? "SkylakeX" : "Haswell";
  }
  for (std::string_view core : kAvx2) {
    if (picked_core == core && cpu_has_avx512) return "SkylakeX";
  }
  return "";
}

namespace {

struct CpuVectorUnits {
  bool avx2_fma = false;
  bool avx512 = false;
};

CpuVectorUnits DetectCpuVectorUnits() {
  CpuVectorUnits units;
  units.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  units.avx512 = units.avx2_fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return units;
}

}  // namespace

std::string SlowerBlasCoreWarning() {
  const char* set = std::getenv("OPENBLAS_CORETYPE");
  if (set == nullptr) return "";
  const CpuVectorUnits cpu = DetectCpuVectorUnits();
  const std::string better = BetterBlasCoreType(BlasCoreName(), cpu.avx2_fma, false, cpu.avx512);
  if (better.empty()) return "";
  return std::string("OPENBLAS_CORETYPE=") + set + " in the environment holds OpenBLAS to its " + BlasCoreName() +
         " kernels though this CPU can run " + better +
         "'s, so USE-lite embeds slower (~1.5x with Haswell's on an AVX-512 CPU). Unset it to let OpenBLAS and "
         "deskpipe choose";
}

void ReexecWithBetterBlasCoreIfNeeded(char** argv) {
  const char* set = std::getenv("OPENBLAS_CORETYPE");
  const CpuVectorUnits cpu = DetectCpuVectorUnits();
  const std::string core = BetterBlasCoreType(BlasCoreName(), cpu.avx2_fma, set != nullptr, cpu.avx512);
  if (core.empty()) return;
  // Once set, the variable is inherited, so the re-executed process never loops.
  if (setenv("OPENBLAS_CORETYPE", core.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
}

}  // namespace deskpipe::embed
