#include "embed/use_lite/blas_runtime.h"

#include <gtest/gtest.h>

namespace deskpipe::embed {
namespace {

TEST(BlasRuntimeTest, ForcesHaswellOnlyForPreAvx2KernelsOnAvx2Cpus) {
  EXPECT_EQ(BetterBlasCoreType("Prescott", true, false), "Haswell");
  EXPECT_EQ(BetterBlasCoreType("Sandybridge", true, false), "Haswell");
  EXPECT_EQ(BetterBlasCoreType("Zen", true, false), "");
  EXPECT_EQ(BetterBlasCoreType("Haswell", true, false), "");
  EXPECT_EQ(BetterBlasCoreType("SkylakeX", true, false), "");
  EXPECT_EQ(BetterBlasCoreType("Prescott", false, false), "");  // the CPU really lacks AVX2
  EXPECT_EQ(BetterBlasCoreType("Prescott", true, true), "");    // the user chose; never loop
}

TEST(BlasRuntimeTest, PrefersAvx512KernelsWhereTheCpuHasThem) {
  EXPECT_EQ(BetterBlasCoreType("Prescott", true, false, true), "SkylakeX");
  EXPECT_EQ(BetterBlasCoreType("Cooperlake", true, false, true), "");  // already an AVX-512 set
  EXPECT_EQ(BetterBlasCoreType("Prescott", true, true, true), "");
}

TEST(BlasRuntimeTest, ReportsTheCoreOpenBlasPicked) { EXPECT_FALSE(BlasCoreName().empty()); }

}  // namespace
}  // namespace deskpipe::embed
