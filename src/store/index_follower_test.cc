#include "store/index_follower.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

namespace deskpipe {
namespace {

// A segmented index in a fresh temporary directory (removed with the fixture).
class IndexFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("deskpipe_follower_test_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<SegmentedIndex> Index(int dimension, size_t seal_at = 32768) {
    SegmentedIndex::Options options;
    options.dimension = dimension;
    options.seal_at = seal_at;
    auto index = SegmentedIndex::Open((dir_ / "t.usearch").string(), options, 0);
    EXPECT_TRUE(index.has_value()) << index.error().ToString();
    return index ? std::move(*index) : nullptr;
  }
  bool Contains(SegmentedIndex& index, int64_t key) {
    auto keys = index.Keys();
    return keys && std::find(keys->begin(), keys->end(), key) != keys->end();
  }
  std::filesystem::path dir_;
};

std::vector<float> RandomVector(std::mt19937& rng, int dim) {
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(dim));
  for (float& x : v) x = normal(rng);
  return v;
}

TEST_F(IndexFollowerTest, AppliesJobsInOrderAndIsIdleAfterWait) {
  constexpr int kDim = 32;
  auto index = Index(kDim);
  ASSERT_TRUE(index);
  std::mt19937 rng(3);
  IndexFollower follower;
  for (int batch = 0; batch < 5; ++batch) {
    IndexFollower::Job job;
    job.tenant_id = "t";
    job.index = index.get();
    for (int i = 0; i < 100; ++i) job.added.emplace_back(batch * 100 + i + 1, RandomVector(rng, kDim));
    if (batch > 0) job.removed_keys = {(batch - 1) * 100 + 1};  // the first key of the previous batch
    follower.Submit(std::move(job));
  }
  EXPECT_TRUE(follower.Wait().empty());
  // 500 added, 4 removed by the later batches — which only works if the jobs ran in order.
  EXPECT_EQ(index->growing_size(), 496u);
  EXPECT_FALSE(Contains(*index, 1));
  EXPECT_FALSE(Contains(*index, 301));
  EXPECT_TRUE(Contains(*index, 401));
  EXPECT_TRUE(Contains(*index, 500));
}

TEST_F(IndexFollowerTest, ReportsAFailedJobWithItsTenantOnce) {
  auto index = Index(8);
  ASSERT_TRUE(index);
  IndexFollower follower;
  IndexFollower::Job bad;
  bad.tenant_id = "acme";
  bad.index = index.get();
  bad.added.emplace_back(1, std::vector<float>(5, 1.0f));  // wrong dimension
  follower.Submit(std::move(bad));
  IndexFollower::Job good;
  good.tenant_id = "other";
  good.index = index.get();
  good.added.emplace_back(2, std::vector<float>(8, 1.0f));
  follower.Submit(std::move(good));  // the failure of the first is kept, not lost, by this hand-over

  const auto failures = follower.Wait();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].tenant_id, "acme");
  EXPECT_NE(failures[0].status.message().find("dimensions"), std::string::npos) << failures[0].status.ToString();
  EXPECT_TRUE(Contains(*index, 2));
  EXPECT_FALSE(Contains(*index, 1));
  EXPECT_TRUE(follower.Wait().empty());  // reported once
}

// Jobs queue up behind a running one; each seals a full growing segment before adding, as the store did
// before handing the job over.
TEST_F(IndexFollowerTest, QueuedJobsSealFullSegmentsBeforeAdding) {
  constexpr int kDim = 16;
  auto index = Index(kDim, /*seal_at=*/100);
  ASSERT_TRUE(index);
  std::mt19937 rng(5);
  IndexFollower follower;
  for (int batch = 0; batch < 3 * static_cast<int>(IndexFollower::kMaxPending); ++batch) {
    IndexFollower::Job job;
    job.tenant_id = "t";
    job.index = index.get();
    for (int i = 0; i < 100; ++i) job.added.emplace_back(batch * 100 + i + 1, RandomVector(rng, kDim));
    follower.Submit(std::move(job));
  }
  EXPECT_TRUE(follower.Wait().empty());
  EXPECT_EQ(index->sealed_segments(), 3 * IndexFollower::kMaxPending - 1);
  EXPECT_EQ(index->growing_size(), 100u);
  EXPECT_EQ(index->Keys()->size(), 3 * IndexFollower::kMaxPending * 100);
}

// After a tenant's job fails, its queued jobs are skipped (the store drops that index and rebuilds it from
// SQL); other tenants' jobs still run.
TEST_F(IndexFollowerTest, SkipsTheQueuedJobsOfAFailedTenant) {
  auto acme_index = Index(8);
  ASSERT_TRUE(acme_index);
  std::filesystem::create_directories(dir_ / "other");
  SegmentedIndex::Options options;
  options.dimension = 8;
  options.seal_at = 32768;
  auto other_index = SegmentedIndex::Open((dir_ / "other" / "o.usearch").string(), options, 0);
  ASSERT_TRUE(other_index.has_value());
  IndexFollower follower;
  auto job = [](const std::string& tenant, SegmentedIndex* index, int64_t key, size_t dim) {
    IndexFollower::Job j;
    j.tenant_id = tenant;
    j.index = index;
    j.added.emplace_back(key, std::vector<float>(dim, 1.0f));
    return j;
  };
  follower.Submit(job("acme", acme_index.get(), 1, 5));  // wrong dimension: fails
  follower.Submit(job("acme", acme_index.get(), 3, 8));
  follower.Submit(job("other", other_index->get(), 2, 8));
  const auto failures = follower.Wait();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].tenant_id, "acme");
  EXPECT_FALSE(Contains(*acme_index, 3));
  EXPECT_TRUE(Contains(**other_index, 2));
  EXPECT_FALSE(follower.HasFailures());
}

}  // namespace
}  // namespace deskpipe
