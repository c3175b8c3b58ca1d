#include "embed/use_lite/blas_runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

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
  EXPECT_EQ(BetterBlasCoreType("Haswell", true, false, true), "SkylakeX");  // a CPU newer than OpenBLAS
  EXPECT_EQ(BetterBlasCoreType("Zen", true, false, true), "SkylakeX");
  EXPECT_EQ(BetterBlasCoreType("Cooperlake", true, false, true), "");  // already an AVX-512 set
  EXPECT_EQ(BetterBlasCoreType("SkylakeX", true, false, true), "");
  EXPECT_EQ(BetterBlasCoreType("Prescott", true, true, true), "");
  EXPECT_EQ(BetterBlasCoreType("Haswell", true, true, true), "");
}

TEST(BlasRuntimeTest, WarnsOnlyAboutACoreTypeTheUserSet) {
  const char* saved = std::getenv("OPENBLAS_CORETYPE");
  const std::string restore = saved ? saved : "";
  unsetenv("OPENBLAS_CORETYPE");
  EXPECT_EQ(SlowerBlasCoreWarning(), "");
  setenv("OPENBLAS_CORETYPE", "SomeCore", 1);
  // Whether it costs anything depends on this CPU; a warning names the variable and what it holds.
  const std::string warning = SlowerBlasCoreWarning();
  if (!warning.empty()) {
    EXPECT_NE(warning.find("OPENBLAS_CORETYPE=SomeCore"), std::string::npos) << warning;
  }
  if (saved) {
    setenv("OPENBLAS_CORETYPE", restore.c_str(), 1);
  } else {
    unsetenv("OPENBLAS_CORETYPE");
  }
}

TEST(BlasRuntimeTest, ReportsTheCoreOpenBlasPicked) { EXPECT_FALSE(BlasCoreName().empty()); }

}  // namespace
}  // namespace deskpipe::embed
