#include "store/index_follower.h"

#include <gtest/gtest.h>

#include <random>

namespace deskpipe {
namespace {

std::vector<float> RandomVector(std::mt19937& rng, int dim) {
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(dim));
  for (float& x : v) x = normal(rng);
  return v;
}

TEST(IndexFollowerTest, AppliesJobsInOrderAndIsIdleAfterWait) {
  constexpr int kDim = 32;
  auto index = VectorIndex::Open("", kDim);
  ASSERT_TRUE(index.has_value());
  std::mt19937 rng(3);
  IndexFollower follower;
  for (int batch = 0; batch < 5; ++batch) {
    IndexFollower::Job job;
    job.tenant_id = "t";
    job.index = index->get();
    for (int i = 0; i < 100; ++i) job.added.emplace_back(batch * 100 + i, RandomVector(rng, kDim));
    if (batch > 0) job.removed_keys = {(batch - 1) * 100};  // the first key of the previous batch
    follower.Submit(std::move(job));
  }
  EXPECT_TRUE(follower.Wait().empty());
  // 500 added, 4 removed by the later batches — which only works if the jobs ran in order.
  EXPECT_EQ((*index)->size(), 496u);
  EXPECT_FALSE((*index)->Contains(0));
  EXPECT_FALSE((*index)->Contains(300));
  EXPECT_TRUE((*index)->Contains(400));
  EXPECT_TRUE((*index)->Contains(499));
}

TEST(IndexFollowerTest, ReportsAFailedJobWithItsTenantOnce) {
  auto index = VectorIndex::Open("", 8);
  ASSERT_TRUE(index.has_value());
  IndexFollower follower;
  IndexFollower::Job bad;
  bad.tenant_id = "acme";
  bad.index = index->get();
  bad.added.emplace_back(1, std::vector<float>(5, 1.0f));  // wrong dimension
  follower.Submit(std::move(bad));
  IndexFollower::Job good;
  good.tenant_id = "other";
  good.index = index->get();
  good.added.emplace_back(2, std::vector<float>(8, 1.0f));
  follower.Submit(std::move(good));  // the failure of the first is kept, not lost, by this hand-over

  const auto failures = follower.Wait();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].tenant_id, "acme");
  EXPECT_NE(failures[0].status.message().find("dimensions"), std::string::npos) << failures[0].status.ToString();
  EXPECT_TRUE((*index)->Contains(2));
  EXPECT_FALSE((*index)->Contains(1));
  EXPECT_TRUE(follower.Wait().empty());  // reported once
}

}  // namespace
}  // namespace deskpipe
