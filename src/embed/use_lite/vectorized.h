// DESKPIPE_VECTORIZED: builds a function also for x86-64-v4 (AVX-512) and v3 (AVX2, FMA), the loader picking
// the variant this CPU runs (GCC function multi-versioning). For the element-wise loops around the matrix
// products, a fifth of the time when built for the baseline x86-64. With `omp simd` (-fopenmp-simd: a
// compiler flag, no OpenMP runtime) their sums vectorize too.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DESKPIPE_VECTORIZED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DESKPIPE_VECTORIZED
#endif
