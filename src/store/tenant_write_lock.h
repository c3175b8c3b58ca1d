// One writer per tenant. Everything that writes a tenant (sync, retry-failed, reset, verify --repair, and any
// later verb that does) first takes the tenant's write lock through Store::LockTenantForWrite: two writers at
// once would each keep their own view of the vector index, and the last to save it would drop the other's
// vectors. Readers (search, status, digest) take no lock.
//
// The lock is a real OS / server lock, so a killed holder never leaves it behind: an flock(2) on
// {data_dir}/locks/{tenant}.lock for the embedded store, a session-level pg_try_advisory_lock on the store's
// own connection for PostgreSQL. The holder records who it is (pid, host, start time, command) so a second
// writer can say whom it is waiting for.
//
// Usage:
//   ASSIGN_OR_RETURN(auto lock, store->LockTenantForWrite(tenant, {.wait = wait, .command = "deskpipe reembed"}));
//   … write the tenant through `store` …
//   // `lock` released when destroyed (declare it after the store, so it goes first)
//
// Thread-safety: a TenantWriteLock is used from one thread. Lifetime: released by its destructor or Release();
// it must not outlive the store that granted it (the store releases any lock still held when it is destroyed,
// after its final flush, and the handle then does nothing).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"

namespace deskpipe {

struct WriteLockOptions {
  bool wait = false;        // false: fail at once (StatusCode::kBusy) when another process holds the lock
  std::string command;      // what the holder is doing, shown to other writers ("deskpipe sync")
  // While waiting: set (e.g. by SIGINT) ⇒ give up with StatusCode::kCancelled. May be null.
  const std::atomic<bool>* stop = nullptr;
};

// Who holds a tenant's write lock, as the holder recorded itself. pid 0: unknown (it has not written it yet).
struct LockHolder {
  int64_t pid = 0;
  std::string host;
  std::string since;  // UTC ISO-8601
  std::string command;

  // This process, now, doing `command`.
  static LockHolder Self(const std::string& command);
  std::string ToJson() const;
  static LockHolder FromJson(const std::string& text);  // unreadable text ⇒ pid 0
};

// The kBusy error a second writer gets: "tenant acme is being written by pid 1234 on host since … (deskpipe
// sync); pass --wait to wait for it".
Status TenantBusy(const std::string& tenant_id, const LockHolder& holder);

// A held write lock. Backends build it with the function that releases the lock.
class TenantWriteLock {
 public:
  // Shared with the granting store, which calls Release() on every lock still held when it is destroyed.
  class Slot {
   public:
    explicit Slot(std::function<void()> release) : release_(std::move(release)) {}
    void Release() {
      if (!release_) return;
      auto release = std::move(release_);
      release_ = nullptr;
      release();
    }
    bool held() const { return static_cast<bool>(release_); }

   private:
    std::function<void()> release_;
  };

  TenantWriteLock(std::string tenant_id, std::shared_ptr<Slot> slot)
      : tenant_id_(std::move(tenant_id)), slot_(std::move(slot)) {}
  ~TenantWriteLock() { Release(); }
  TenantWriteLock(const TenantWriteLock&) = delete;
  TenantWriteLock& operator=(const TenantWriteLock&) = delete;

  void Release() { slot_->Release(); }
  bool held() const { return slot_->held(); }
  const std::string& tenant_id() const { return tenant_id_; }

 private:
  std::string tenant_id_;
  std::shared_ptr<Slot> slot_;
};

// The acquisition loop both backends share: `try_lock` (true: now held) until it succeeds; without
// options.wait it is retried only for `grace` (a reader probing the lock holds it for microseconds), then
// TenantBusy naming `holder()`. With options.wait it polls every `poll` until held or options.stop.
Result<void> AcquireTenantLock(const std::string& tenant_id, const WriteLockOptions& options,
                               const std::function<Result<bool>()>& try_lock,
                               const std::function<LockHolder()>& holder,
                               std::chrono::milliseconds grace = std::chrono::milliseconds(200),
                               std::chrono::milliseconds poll = std::chrono::milliseconds(200));

}  // namespace deskpipe
