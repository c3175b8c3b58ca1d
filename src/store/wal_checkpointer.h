// Moves the bulk of SQLite's WAL checkpoints off the writing thread. SQLite's own auto-checkpoint copies the
// WAL into the database inside the COMMIT that crosses its threshold, so the writer pays for every page twice;
// here a background thread with its own connection runs a passive checkpoint while the writer prepares its
// next batch. The writer then copies only the tail committed meanwhile, which lets the WAL start over. Past
// `writer_frames` (the background thread starved or failing) the writer checkpoints everything itself, so the
// WAL stays bounded either way.
//
// Thread-safety: the WAL hook runs on the writer's thread inside its COMMIT; the checkpoint runs on this
// object's thread on its own connection (SQLite serializes the two through the WAL's locks).
// Lifetime: must be destroyed before the writer's SqliteDb (the destructor removes the hook, restores SQLite's
// auto-checkpoint on the writer and joins the thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "store/sqlite_db.h"

namespace deskpipe::sqlite {

class WalCheckpointer {
 public:
  struct Options {
    // WAL pages after a commit that wake the background checkpoint (SQLite's auto-checkpoint default).
    int trigger_frames = 1000;
    // WAL pages after a commit at which the writer checkpoints everything itself (~64 MB).
    int writer_frames = 16000;
  };

  // Opens a second connection to the database at `path` and installs the WAL hook on `writer`.
  static Result<std::unique_ptr<WalCheckpointer>> Start(SqliteDb& writer, const std::string& path,
                                                        Options options);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints run by the background thread / by the writer (tails, and everything past `writer_frames`).
  int64_t background_checkpoints() const { return background_checkpoints_.load(); }
  int64_t writer_checkpoints() const { return writer_checkpoints_.load(); }

 private:
  WalCheckpointer(SqliteDb& writer, std::unique_ptr<SqliteDb> own, Options options);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames);
  void Run();

  SqliteDb& writer_;
  std::unique_ptr<SqliteDb> own_;  // the background thread's connection
  const Options options_;
  std::atomic<int64_t> background_checkpoints_{0};
  std::atomic<int64_t> writer_checkpoints_{0};
  std::atomic<bool> caught_up_{false};  // a background checkpoint finished since the writer last copied a tail
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool stopping_ = false;
  bool warned_ = false;  // one warning per store for a failing background checkpoint
  std::thread thread_;   // last: started after the fields it uses
};

}  // namespace deskpipe::sqlite
