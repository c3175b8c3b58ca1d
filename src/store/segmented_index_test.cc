#include "store/segmented_index.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <unordered_set>

namespace deskpipe {
namespace {

namespace fs = std::filesystem;

constexpr int kDim = 24;

class SegmentedIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("deskpipe_segmented_test_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    std::mt19937 rng(11);
    std::normal_distribution<float> normal;
    for (int i = 0; i < 120; ++i) {
      std::vector<float> v(kDim);
      for (float& x : v) x = normal(rng);
      vectors_.push_back(v);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Base() const { return (dir_ / "acme.usearch").string(); }

  std::unique_ptr<SegmentedIndex> Open(int64_t generation, size_t seal_at = 50) {
    SegmentedIndex::Options options;
    options.dimension = kDim;
    options.seal_at = seal_at;
    auto index = SegmentedIndex::Open(Base(), options, generation);
    EXPECT_TRUE(index.has_value()) << index.error().ToString();
    return index ? std::move(*index) : nullptr;
  }

  // Keys first..last (1-based into vectors_), added in one batch, then sealed if full.
  void Add(SegmentedIndex& index, int first, int last) {
    std::vector<std::pair<int64_t, const std::vector<float>*>> items;
    for (int key = first; key <= last; ++key) items.emplace_back(key, &vectors_[static_cast<size_t>(key - 1)]);
    ASSERT_TRUE(index.AddBatch(items).has_value());
    ASSERT_TRUE(index.SealIfFull().has_value());
  }

  size_t FileCount() const {
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(dir_)) n += entry.is_regular_file() ? 1 : 0;
    return n;
  }

  fs::path dir_;
  std::vector<std::vector<float>> vectors_;
};

const auto kAll = [](int64_t) { return true; };

TEST_F(SegmentedIndexTest, TheSegmentSizeIsRequired) {
  SegmentedIndex::Options options;
  options.dimension = kDim;  // seal_at left unset
  auto index = SegmentedIndex::Open(Base(), options, 1);
  ASSERT_FALSE(index.has_value());
  EXPECT_EQ(index.error().code(), StatusCode::kInvalidArgument);
}

TEST_F(SegmentedIndexTest, SealsFullSegmentsAndSearchesThemAll) {
  auto index = Open(1);
  ASSERT_TRUE(index);
  Add(*index, 1, 40);    // 40 < 50: still growing
  EXPECT_EQ(index->sealed_segments(), 0u);
  EXPECT_FALSE(index->requires_filter());
  Add(*index, 41, 60);   // 60 ≥ 50: sealed through 60
  Add(*index, 61, 110);  // 50: sealed through 110
  Add(*index, 111, 120);
  EXPECT_EQ(index->sealed_segments(), 2u);
  EXPECT_EQ(index->sealed_through(), 110);
  EXPECT_EQ(index->growing_size(), 10u);
  EXPECT_TRUE(index->requires_filter());

  // Without a filter of live keys a search over sealed segments is refused.
  EXPECT_FALSE(index->Search(vectors_[0], 5).has_value());
  // Every vector, wherever it lives, is its own nearest neighbour.
  for (int key : {1, 55, 100, 115}) {
    auto hits = index->Search(vectors_[static_cast<size_t>(key - 1)], 3, kAll);
    ASSERT_TRUE(hits.has_value()) << hits.error().ToString();
    ASSERT_FALSE(hits->empty());
    EXPECT_EQ(hits->front().first, key);
    EXPECT_NEAR(hits->front().second, 1.0f, 1e-5);
  }
  // Exact search over keys of three segments agrees with the graph.
  auto exact = index->ExactSearch(vectors_[99], 2, {3, 100, 118});
  ASSERT_TRUE(exact.has_value());
  ASSERT_EQ(exact->size(), 2u);
  EXPECT_EQ(exact->front().first, 100);
  auto keys = index->Keys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->size(), 120u);
  EXPECT_EQ(keys->front(), 1);
  EXPECT_EQ(keys->back(), 120);
  // Keys must grow: one at or below a sealed segment is an error, not a duplicate.
  std::vector<float> v = vectors_[0];
  EXPECT_FALSE(index->AddBatch({{110, &v}}).has_value());
}

TEST_F(SegmentedIndexTest, ARemovedSealedKeyIsDeadAndFilteredOut) {
  auto index = Open(1);
  ASSERT_TRUE(index);
  Add(*index, 1, 60);  // sealed
  Add(*index, 61, 70);
  ASSERT_TRUE(index->Remove(5).has_value());   // sealed: stays in the file, dead
  ASSERT_TRUE(index->Remove(65).has_value());  // growing: gone
  auto keys = index->Keys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->size(), 69u);  // 5 still listed (dead), 65 not
  std::unordered_set<int64_t> live(keys->begin(), keys->end());
  live.erase(5);
  auto hits = index->Search(vectors_[4], 3, [&live](int64_t key) { return live.count(key) > 0; });
  ASSERT_TRUE(hits.has_value());
  for (const auto& hit : *hits) EXPECT_NE(hit.first, 5);
}

TEST_F(SegmentedIndexTest, ReopensSavedSegmentsAndMarksAMismatchedGrowingSegmentStale) {
  {
    auto index = Open(1);
    ASSERT_TRUE(index);
    Add(*index, 1, 60);
    Add(*index, 61, 70);
    ASSERT_TRUE(index->Save(7).has_value());
  }
  {
    auto index = Open(7);  // the generation the sidecar names
    ASSERT_TRUE(index);
    EXPECT_FALSE(index->stale());
    EXPECT_EQ(index->sealed_through(), 60);
    EXPECT_EQ(index->growing_size(), 10u);
    auto hits = index->Search(vectors_[64], 1, kAll);
    ASSERT_TRUE(hits.has_value());
    ASSERT_EQ(hits->size(), 1u);
    EXPECT_EQ(hits->front().first, 65);
  }
  {
    // SQL moved on (a crash before the index was saved): the sealed segment stands, the growing one is
    // empty and stale, to be refilled with the keys above 60.
    auto index = Open(8);
    ASSERT_TRUE(index);
    EXPECT_TRUE(index->stale());
    EXPECT_EQ(index->sealed_through(), 60);
    EXPECT_EQ(index->growing_size(), 0u);
  }
}

TEST_F(SegmentedIndexTest, ADamagedSealedSegmentIsDataLossNamingTheFileAndTheWayOut) {
  std::string sealed;
  {
    auto index = Open(1);
    ASSERT_TRUE(index);
    Add(*index, 1, 60);
    ASSERT_TRUE(index->Save(1).has_value());
  }
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().string().find(".sealed-") != std::string::npos) sealed = entry.path().string();
  }
  ASSERT_FALSE(sealed.empty());
  std::ofstream(sealed, std::ios::binary | std::ios::trunc) << std::string(300, '\x7f');
  auto index = Open(1);
  ASSERT_TRUE(index);
  auto hits = index->Search(vectors_[0], 3, kAll);
  ASSERT_FALSE(hits.has_value());
  EXPECT_EQ(hits.error().code(), StatusCode::kDataLoss) << hits.error().ToString();
  EXPECT_NE(hits.error().message().find("the vector index segment " + sealed + " is damaged"), std::string::npos)
      << hits.error().message();
  EXPECT_NE(hits.error().message().find("`deskpipe reset --tenant acme` and sync again"), std::string::npos)
      << hits.error().message();
}

TEST_F(SegmentedIndexTest, ACrashWhileSealingLeavesNoKeyInTwoSegments) {
  {
    auto index = Open(1, /*seal_at=*/1000);
    ASSERT_TRUE(index);
    Add(*index, 1, 30);
    ASSERT_TRUE(index->Save(1).has_value());  // growing: 1..30 with a matching sidecar
    ASSERT_TRUE(index->Seal().has_value());   // sealed: 1..30; the process "dies" before the next Save()
  }
  auto index = Open(1, 1000);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->sealed_through(), 30);
  EXPECT_TRUE(index->stale());  // the old growing file (1..30) is not trusted again
  EXPECT_EQ(index->growing_size(), 0u);
  auto keys = index->Keys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->size(), 30u);
}

TEST_F(SegmentedIndexTest, RemoveFilesLeavesNothingBehind) {
  {
    auto index = Open(1);
    ASSERT_TRUE(index);
    Add(*index, 1, 60);
    Add(*index, 61, 70);
    ASSERT_TRUE(index->Save(1).has_value());
  }
  std::ofstream(dir_ / "other.usearch") << "another tenant";
  EXPECT_EQ(FileCount(), 4u);  // growing, sidecar, one sealed segment, the other tenant's file
  ASSERT_TRUE(SegmentedIndex::RemoveFiles(Base()).has_value());
  EXPECT_EQ(FileCount(), 1u);
  EXPECT_TRUE(fs::exists(dir_ / "other.usearch"));
}

}  // namespace
}  // namespace deskpipe
