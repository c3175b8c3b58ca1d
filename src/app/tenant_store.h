// Opening one tenant's store for a verb, checked against what the tenant's data was made with (its
// TenantProfile, store/tenant_profile.h):
//   - for reading (status, search, digest, verify): read-only, sized by the recorded embedder, so no embedder is
//     loaded and nothing is written; a missing store or a tenant never synced is NotFound;
//   - for writing (sync, retry-failed, verify --repair, reset): the tenant's write lock taken first (one writer
//     per tenant, store/tenant_write_lock.h), then sized for the configured embedder, which must be the
//     recorded one (InvalidArgument naming both and how to resolve it otherwise).
// Thread-safety: free functions; the stores they return are used as Store says. Lifetime: the caller owns them.
#pragma once

#include <memory>
#include <optional>

#include "core/config.h"
#include "embed/embedder.h"
#include "store/store.h"

namespace deskpipe {

// The profile a sync with `config` and `embedder` writes.
TenantProfile ProfileFor(const Config& config, const Embedder& embedder);

struct TenantStore {
  std::unique_ptr<Store> store;
  std::unique_ptr<TenantWriteLock> lock;  // writers only; declared after `store`, so released before it closes
  TenantProfile profile;  // as recorded (for writing: the configured one when the tenant is new)
  bool is_new = false;    // never synced before
};

// Read-only. With `embedder` (search), it must be the recorded one.
Result<TenantStore> OpenTenantForReading(const Config& config, const Embedder* embedder = nullptr);

// For writing with `embedder`, under the tenant's write lock. A new tenant is allowed only when `allow_new`
// (sync); else NotFound. Another writer holding the lock ⇒ kBusy naming it (or wait, per `lock`).
Result<TenantStore> OpenTenantForWriting(const Config& config, const Embedder& embedder, bool allow_new,
                                         const WriteLockOptions& lock);

// For writing without an embedder (reset), under the write lock: sized by the recorded profile, or by
// `dimension` when it is not 0 (reembed opens the store for the new embedder's vectors).
Result<TenantStore> OpenTenantAsRecorded(const Config& config, const WriteLockOptions& lock, int dimension = 0);

// For a sync: checks the mode against the recorded one. Switching to a mode that keeps SQL records starts a
// backfill (recorded in the profile until a run completes); switching away from it is refused with the command
// that does it. Records the profile of a new tenant. Returns the profile to sync with.
Result<TenantProfile> PrepareSyncProfile(const Config& config, const Embedder& embedder, TenantStore& tenant);

// The mode gaps `verify` reports for a tenant synced as `recorded` and now configured by `config`.
std::vector<std::string> ModeProblems(const Config& config, const TenantProfile& recorded);

}  // namespace deskpipe
