#include "store/sqlite_db.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

namespace deskpipe::sqlite {
namespace {

namespace fs = std::filesystem;

class ReadTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One directory per test: ctest runs the tests of this file side by side.
    dir_ = fs::temp_directory_path() / (std::string("deskpipe_sqlite_db_test_") +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    reader_ = Open();
    writer_ = Open();
    ASSERT_TRUE(reader_->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1);")
                    .has_value());
  }
  void TearDown() override {
    reader_.reset();
    writer_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<SqliteDb> Open() {
    auto db = SqliteDb::Open((dir_ / "test.db").string());
    EXPECT_TRUE(db.has_value()) << db.error().ToString();
    return db ? std::move(*db) : nullptr;
  }
  int64_t Rows(SqliteDb& db) {
    auto stmt = db.Prepare("SELECT COUNT(*) FROM t");
    EXPECT_TRUE(stmt.has_value());
    auto row = (*stmt)->Step();
    EXPECT_TRUE(row.has_value() && *row);
    const int64_t n = (*stmt)->ColumnInt(0);
    (*stmt)->Reset();
    return n;
  }

  fs::path dir_;
  std::unique_ptr<SqliteDb> reader_;
  std::unique_ptr<SqliteDb> writer_;
};

TEST_F(ReadTransactionTest, QueriesSeeOneSnapshotUntilItEnds) {
  {
    ReadTransaction snapshot(*reader_);
    ASSERT_TRUE(snapshot.status().has_value());
    EXPECT_EQ(Rows(*reader_), 1);
    ASSERT_TRUE(writer_->Exec("INSERT INTO t VALUES (2)").has_value());
    EXPECT_EQ(Rows(*reader_), 1);  // the other connection's commit is after the snapshot
    EXPECT_EQ(sqlite3_txn_state(reader_->handle(), nullptr), SQLITE_TXN_READ);
  }
  EXPECT_EQ(sqlite3_txn_state(reader_->handle(), nullptr), SQLITE_TXN_NONE);
  EXPECT_EQ(Rows(*reader_), 2);
}

TEST_F(ReadTransactionTest, EndsEvenWithAStatementLeftOnARow) {
  {
    ReadTransaction snapshot(*reader_);
    ASSERT_TRUE(snapshot.status().has_value());
    auto stmt = reader_->Prepare("SELECT v FROM t");
    ASSERT_TRUE(stmt.has_value());
    auto row = (*stmt)->Step();
    ASSERT_TRUE(row.has_value() && *row);  // left on its row
  }
  EXPECT_EQ(sqlite3_txn_state(reader_->handle(), nullptr), SQLITE_TXN_NONE);
  // No snapshot left behind: a checkpoint can restart the WAL.
  ASSERT_TRUE(writer_->Exec("INSERT INTO t VALUES (3)").has_value());
  int log_frames = -1;
  int checkpointed = -1;
  ASSERT_EQ(sqlite3_wal_checkpoint_v2(writer_->handle(), nullptr, SQLITE_CHECKPOINT_RESTART, &log_frames,
                                      &checkpointed),
            SQLITE_OK);
  EXPECT_EQ(log_frames, checkpointed);
}

TEST_F(ReadTransactionTest, InsideAnotherTransactionIsAnError) {
  Transaction write(*reader_);
  ASSERT_TRUE(write.status().has_value());
  ReadTransaction nested(*reader_);
  EXPECT_FALSE(nested.status().has_value());
  EXPECT_TRUE(write.Commit().has_value());  // the failed nested one did not end the outer one
}

}  // namespace
}  // namespace deskpipe::sqlite
