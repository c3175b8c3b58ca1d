// OpenBLAS settings that matter for embedding speed, for main() to apply at start-up.
//
// OpenBLAS chooses its kernels from CPUID once, when libopenblas loads. Under some hypervisors it
// falls back to "Prescott" (SSE3) kernels on CPUs that have AVX2/FMA, which makes USE-lite ~3-4x slower
// (measured here: 45 vs 150-180 sentences/s). The only fix is OPENBLAS_CORETYPE in the environment before
// the library loads, so ReexecWithBetterBlasCoreIfNeeded() re-executes the program once with it set.
// Thread count, by contrast, can change at run time: the pipeline runs Embed() on its own pool of workers
// (one per core), so OpenBLAS should use one thread per call (SetBlasThreads(1)) to avoid oversubscription.
// Thread-safety: call from main() before other threads start.
#pragma once

#include <string>
#include <string_view>

namespace deskpipe::embed {

// The kernel set OpenBLAS picked ("Haswell", "Zen", "Prescott", …).
std::string BlasCoreName();
void SetBlasThreads(int threads);

// The core type to force, or "" to leave OpenBLAS alone (always "" when the user set OPENBLAS_CORETYPE):
//   - OpenBLAS picked a pre-AVX2 kernel set: "SkylakeX" on a CPU with AVX-512 (F, BW, DQ, VL; ~1.5x Haswell's
//     kernels on USE-lite here), else "Haswell" on a CPU with AVX2 and FMA;
//   - it picked an AVX2 set (Haswell, Zen) on a CPU with AVX-512, as it may on CPUs newer than the library:
//     "SkylakeX".
std::string BetterBlasCoreType(std::string_view picked_core, bool cpu_has_avx2_fma,
                               bool coretype_already_set, bool cpu_has_avx512 = false);

// A user's OPENBLAS_CORETYPE is kept, even one that holds OpenBLAS to kernels slower than this CPU could run;
// this says so, for the log ("" when the variable is unset or costs nothing).
std::string SlowerBlasCoreWarning();

// If BetterBlasCoreType() says so for this process, sets OPENBLAS_CORETYPE and execv()s /proc/self/exe with
// `argv`; returns only when no re-exec is needed or it failed (then the program runs on, just slower).
void ReexecWithBetterBlasCoreIfNeeded(char** argv);

}  // namespace deskpipe::embed
