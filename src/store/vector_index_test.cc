#include "store/vector_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

namespace deskpipe {
namespace {

constexpr int kDim = 32;

std::vector<float> RandomUnitVector(std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(kDim);
  double norm = 0;
  for (float& x : v) {
    x = normal(rng);
    norm += static_cast<double>(x) * x;
  }
  for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

class VectorIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() /
        ("deskpipe_vector_index_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::mt19937 rng(42);
    for (int i = 0; i < 300; ++i) vectors_.push_back(RandomUnitVector(rng));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<VectorIndex> Filled(const std::string& path) {
    auto index = VectorIndex::Open(path, kDim);
    EXPECT_TRUE(index.has_value()) << index.error().ToString();
    for (size_t i = 0; i < vectors_.size(); ++i) {
      auto added = (*index)->Add(static_cast<int64_t>(i + 1), vectors_[i]);
      EXPECT_TRUE(added.has_value()) << added.error().ToString();
    }
    return std::move(*index);
  }

  std::filesystem::path dir_;
  std::vector<std::vector<float>> vectors_;
};

TEST_F(VectorIndexTest, FindsEachVectorAsItsOwnNearestNeighbour) {
  auto index = Filled("");
  EXPECT_EQ(index->size(), 300u);
  int found = 0;
  for (size_t i = 0; i < vectors_.size(); ++i) {
    auto hits = index->Search(vectors_[i], 5);
    ASSERT_TRUE(hits.has_value());
    ASSERT_FALSE(hits->empty());
    if (hits->front().first == static_cast<int64_t>(i + 1)) {
      ++found;
      EXPECT_NEAR(hits->front().second, 1.0f, 1e-4);
    }
    for (size_t j = 1; j < hits->size(); ++j) EXPECT_LE((*hits)[j].second, (*hits)[j - 1].second + 1e-6);
  }
  EXPECT_GE(found, 297);  // recall@1 ≥ 99 %
}

TEST_F(VectorIndexTest, RemovedKeysAreNeverReturned) {
  auto index = Filled("");
  ASSERT_TRUE(index->Remove(7).has_value());
  ASSERT_TRUE(index->Remove(12345).has_value());  // absent: fine
  EXPECT_FALSE(index->Contains(7));
  EXPECT_EQ(index->size(), 299u);
  auto hits = index->Search(vectors_[6], 20);
  ASSERT_TRUE(hits.has_value());
  for (const auto& [key, similarity] : *hits) EXPECT_NE(key, 7);
}

TEST_F(VectorIndexTest, AddingAnExistingKeyReplacesItsVector) {
  auto index = Filled("");
  ASSERT_TRUE(index->Add(1, vectors_[200]).has_value());
  EXPECT_EQ(index->size(), 300u);
  auto hits = index->Search(vectors_[200], 2);
  ASSERT_TRUE(hits.has_value());
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_NEAR((*hits)[0].second, 1.0f, 1e-4);
  EXPECT_NEAR((*hits)[1].second, 1.0f, 1e-4);  // keys 1 and 201 now hold the same vector
  auto old = index->Search(vectors_[0], 1);
  ASSERT_TRUE(old.has_value());
  EXPECT_NE(old->front().first, 1);
}

TEST_F(VectorIndexTest, SaveAndReopenKeepsEveryVector) {
  const std::string path = (dir_ / "t.usearch").string();
  {
    auto index = Filled(path);
    ASSERT_TRUE(index->Remove(3).has_value());
    ASSERT_TRUE(index->Save().has_value());
  }
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto reopened = VectorIndex::Open(path, kDim);
  ASSERT_TRUE(reopened.has_value()) << reopened.error().ToString();
  EXPECT_EQ((*reopened)->size(), 299u);
  EXPECT_FALSE((*reopened)->Contains(3));
  auto hits = (*reopened)->Search(vectors_[99], 1);
  ASSERT_TRUE(hits.has_value());
  EXPECT_EQ(hits->front().first, 100);
  // Still writable after loading.
  ASSERT_TRUE((*reopened)->Add(1000, vectors_[2]).has_value());
  EXPECT_EQ((*reopened)->size(), 300u);
}

TEST_F(VectorIndexTest, WrongDimensionOrCorruptFileIsAnError) {
  const std::string path = (dir_ / "t.usearch").string();
  {
    auto index = Filled(path);
    ASSERT_TRUE(index->Save().has_value());
  }
  auto other = VectorIndex::Open(path, kDim * 2);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), StatusCode::kInternal);

  const std::string bad = (dir_ / "bad.usearch").string();
  std::ofstream(bad) << "not an index";
  EXPECT_FALSE(VectorIndex::Open(bad, kDim).has_value());

  auto index = VectorIndex::Open("", kDim);
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ((*index)->Add(1, std::vector<float>(3, 0.5f)).error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE((*index)->Search(std::vector<float>(3, 0.5f), 1).has_value());
}

TEST_F(VectorIndexTest, FilterIsAppliedInsideTheSearch) {
  auto index = Filled("");
  auto even = [](int64_t key) { return key % 2 == 0; };
  auto hits = index->Search(vectors_[10], 10, even);  // key 11 (odd) is the true nearest
  ASSERT_TRUE(hits.has_value());
  EXPECT_EQ(hits->size(), 10u);
  for (const auto& [key, similarity] : *hits) EXPECT_EQ(key % 2, 0);
  auto own = index->Search(vectors_[11], 1, even);  // key 12 passes
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(own->front().first, 12);
}

TEST_F(VectorIndexTest, ClearEmptiesTheIndex) {
  auto index = Filled("");
  index->Clear();
  EXPECT_EQ(index->size(), 0u);
  auto hits = index->Search(vectors_[0], 5);
  ASSERT_TRUE(hits.has_value());
  EXPECT_TRUE(hits->empty());
  ASSERT_TRUE(index->Add(5, vectors_[0]).has_value());
  EXPECT_EQ(index->size(), 1u);
}

}  // namespace
}  // namespace deskpipe
