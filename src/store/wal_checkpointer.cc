#include "store/wal_checkpointer.h"

#include <pthread.h>
#include <sqlite3.h>

#include "core/log.h"

namespace deskpipe::sqlite {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(SqliteDb& writer, const std::string& path,
                                                                Options options) {
  auto own = SqliteDb::Open(path);
  if (!own) return Error(own.error().WithContext("checkpoint connection"));
  // A connection learns that the database is in WAL mode on its first read; until then a checkpoint on it
  // does nothing.
  if (auto read = (*own)->Exec("SELECT 1 FROM sqlite_master LIMIT 1"); !read) {
    return Error(read.error().WithContext("checkpoint connection"));
  }
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(writer, std::move(*own), options));
}

WalCheckpointer::WalCheckpointer(SqliteDb& writer, std::unique_ptr<SqliteDb> own, Options options)
    : writer_(writer), own_(std::move(own)), options_(options) {
  thread_ = std::thread(&WalCheckpointer::Run, this);
  // Replaces SQLite's auto-checkpoint hook on the writer (one WAL hook per connection).
  sqlite3_wal_hook(writer_.handle(), &WalCheckpointer::OnCommit, this);
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_autocheckpoint(writer_.handle(), options_.trigger_frames);  // removes our hook
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* checkpointer = static_cast<WalCheckpointer*>(self);
  const Options& options = checkpointer->options_;
  // The WAL restarts only once every frame in it is copied. The background thread copies the bulk, but this
  // writer keeps committing meanwhile, so the writer copies what was committed since: then its next write
  // starts the WAL over. Past writer_frames (the thread is starved or failing) it copies everything itself.
  if (frames >= options.writer_frames ||
      (frames >= options.trigger_frames && checkpointer->caught_up_.exchange(false))) {
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    ++checkpointer->writer_checkpoints_;
    return SQLITE_OK;
  }
  if (frames < options.trigger_frames) return SQLITE_OK;
  {
    std::lock_guard<std::mutex> lock(checkpointer->mutex_);
    checkpointer->requested_ = true;
  }
  checkpointer->wake_.notify_one();
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  pthread_setname_np(pthread_self(), "dp-checkpoint");  // names the thread in top -H and perf
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || requested_; });
    if (stopping_) return;
    requested_ = false;
    lock.unlock();
    const int rc =
        sqlite3_wal_checkpoint_v2(own_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
    if (rc == SQLITE_OK) {
      ++background_checkpoints_;
      caught_up_ = true;
    } else if ((rc & 0xff) != SQLITE_BUSY && !warned_) {
      // Not fatal: the writer's own checkpoint past writer_frames still bounds the WAL.
      warned_ = true;
      log::Warn("background WAL checkpoint failed; the writer will checkpoint itself",
                {{"error", SqliteError(own_->handle(), rc, "wal checkpoint").message()}});
    }
  }
}

}  // namespace deskpipe::sqlite
