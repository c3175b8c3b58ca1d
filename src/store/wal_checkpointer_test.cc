#include "store/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace deskpipe::sqlite {
namespace {

namespace fs = std::filesystem;

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("deskpipe_checkpointer_test_") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto db = SqliteDb::Open(db_path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t (v BLOB NOT NULL);").has_value());
  }
  void TearDown() override {
    db_.reset();
    fs::remove_all(dir_);
  }
  std::string db_path() const { return (dir_ / "test.db").string(); }
  uintmax_t DbBytes() const { return fs::file_size(db_path()); }
  uintmax_t WalBytes() const { return fs::file_size(db_path() + "-wal"); }

  // `commits` transactions of ~16 pages (4 KB each) of fresh rows.
  void Write(int commits) {
    const std::string filler(64 * 1024, 'x');
    for (int i = 0; i < commits; ++i) {
      Transaction txn(*db_);
      ASSERT_TRUE(txn.status().has_value());
      auto insert = db_->Prepare("INSERT INTO t (v) VALUES (?)");
      ASSERT_TRUE(insert.has_value());
      (*insert)->BindBlob(1, filler.data(), filler.size());
      ASSERT_TRUE((*insert)->Run().has_value());
      ASSERT_TRUE(txn.Commit().has_value());
    }
  }

  // Polls `done` for up to 30 s: the background thread runs on its own schedule.
  static bool Eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 3000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  }

  fs::path dir_;
  std::unique_ptr<SqliteDb> db_;
};

TEST_F(WalCheckpointerTest, TheBackgroundThreadCopiesTheWalIntoTheDatabase) {
  WalCheckpointer::Options options;
  options.trigger_frames = 40;
  options.writer_frames = 1 << 30;  // never: the writer copies only tails
  auto checkpointer = WalCheckpointer::Start(*db_, db_path(), options);
  ASSERT_TRUE(checkpointer.has_value()) << checkpointer.error().ToString();
  Write(20);  // ~320 pages
  // A checkpoint that ran on a connection not yet in WAL mode would count but copy nothing.
  EXPECT_TRUE(Eventually([&] { return DbBytes() > 1u << 20; }))
      << "the database file stayed at " << DbBytes() << " bytes";
  EXPECT_GT((*checkpointer)->background_checkpoints(), 0);
}

TEST_F(WalCheckpointerTest, TheWalStartsOverWhileTheWriterKeepsCommitting) {
  WalCheckpointer::Options options;
  options.trigger_frames = 100;
  options.writer_frames = 1 << 30;  // no bound: only the tail copies can restart the WAL
  auto checkpointer = WalCheckpointer::Start(*db_, db_path(), options);
  ASSERT_TRUE(checkpointer.has_value()) << checkpointer.error().ToString();
  for (int round = 0; round < 10; ++round) {
    Write(10);  // ~160 pages: crosses the trigger at least once
    ASSERT_TRUE(Eventually([&] { return (*checkpointer)->background_checkpoints() > round; }));
    Write(1);  // past the trigger with the bulk copied, the writer copies the tail (unless it already did)
  }
  EXPECT_GT((*checkpointer)->writer_checkpoints(), 0);
  // ~1,700 pages were written; without the tail copies the WAL would hold them all. It held ~430 once under
  // ctest -j2 (a late background checkpoint lets a round's pages pile up), so the bound is half of them.
  EXPECT_LT(WalBytes(), 850u * 4200u);
}

TEST_F(WalCheckpointerTest, TheWriterCheckpointsItselfWhenTheWalOutgrowsItsBound) {
  WalCheckpointer::Options options;
  options.trigger_frames = 1 << 30;  // the background thread is never woken, as if it were starved
  options.writer_frames = 100;
  auto checkpointer = WalCheckpointer::Start(*db_, db_path(), options);
  ASSERT_TRUE(checkpointer.has_value()) << checkpointer.error().ToString();
  Write(60);  // ~1,000 pages
  EXPECT_GT((*checkpointer)->writer_checkpoints(), 0);
  EXPECT_EQ((*checkpointer)->background_checkpoints(), 0);
  EXPECT_GT(DbBytes(), 2u << 20);
  // The WAL restarts after each writer checkpoint: it never holds much more than writer_frames pages.
  EXPECT_LT(WalBytes(), 200u * 4200u);
}

TEST_F(WalCheckpointerTest, StoppingRestoresSqlitesOwnAutoCheckpoint) {
  WalCheckpointer::Options options;
  options.trigger_frames = 50;
  options.writer_frames = 1 << 30;
  {
    auto checkpointer = WalCheckpointer::Start(*db_, db_path(), options);
    ASSERT_TRUE(checkpointer.has_value()) << checkpointer.error().ToString();
  }
  // No hook points at the destroyed object (a use after free), and SQLite checkpoints at trigger_frames again.
  Write(60);
  EXPECT_GT(DbBytes(), 2u << 20);
  EXPECT_LT(WalBytes(), 200u * 4200u);
}

TEST_F(WalCheckpointerTest, AMissingDatabaseIsAClearError) {
  auto checkpointer = WalCheckpointer::Start(*db_, (dir_ / "absent" / "test.db").string(), {});
  ASSERT_FALSE(checkpointer.has_value());
  EXPECT_NE(checkpointer.error().message().find("checkpoint connection"), std::string::npos)
      << checkpointer.error().ToString();
}

}  // namespace
}  // namespace deskpipe::sqlite
