#include "app/tenant_store.h"

#include <string>

namespace deskpipe {
namespace {

Status NeverSynced(const Config& config) {
  return NotFound("tenant " + config.tenant_id + " has never been synced into " + config.EffectiveStoreUrl() +
                  " (run `deskpipe sync --tenant " + config.tenant_id + "` first, or check --tenant and --data-dir)");
}

Result<std::unique_ptr<Store>> Open(const Config& config, int dimension, bool read_only) {
  StoreOptions options = StoreOptionsFor(config, dimension);
  options.read_only = read_only;
  return OpenStore(options);
}

}  // namespace

TenantProfile ProfileFor(const Config& config, const Embedder& embedder) {
  TenantProfile profile;
  profile.embedder = config.embedder;
  profile.model_id = embedder.model_id();
  profile.dimension = embedder.dimension();
  profile.writes_records = StoreOptionsFor(config, embedder.dimension()).WritesRecords();
  return profile;
}

Result<TenantStore> OpenTenantForReading(const Config& config, const Embedder* embedder) {
  ASSIGN_OR_RETURN(auto probe, Open(config, 0, /*read_only=*/true));
  ASSIGN_OR_RETURN(std::optional<TenantProfile> recorded, probe->LoadProfile(config.tenant_id));
  if (!recorded) return Error(NeverSynced(config));
  if (embedder != nullptr) {
    RETURN_IF_ERROR(CheckSameEmbedder(config.tenant_id, *recorded, ProfileFor(config, *embedder)));
  }
  TenantStore tenant;
  tenant.profile = *recorded;
  const int dimension = embedder != nullptr ? embedder->dimension() : recorded->dimension;
  if (dimension == 0) {
    tenant.store = std::move(probe);
  } else {
    probe.reset();
    ASSIGN_OR_RETURN(tenant.store, Open(config, dimension, /*read_only=*/true));
  }
  return tenant;
}

Result<TenantStore> OpenTenantForWriting(const Config& config, const Embedder& embedder, bool allow_new,
                                         const WriteLockOptions& lock) {
  TenantStore tenant;
  ASSIGN_OR_RETURN(tenant.store, Open(config, embedder.dimension(), /*read_only=*/false));
  // Locked before the profile is read, so no other writer changes it between the check and the writes.
  ASSIGN_OR_RETURN(tenant.lock, tenant.store->LockTenantForWrite(config.tenant_id, lock));
  ASSIGN_OR_RETURN(std::optional<TenantProfile> recorded, tenant.store->LoadProfile(config.tenant_id));
  if (!recorded && !allow_new) return Error(NeverSynced(config));
  tenant.is_new = !recorded.has_value();
  tenant.profile = recorded ? *recorded : ProfileFor(config, embedder);
  RETURN_IF_ERROR(CheckSameEmbedder(config.tenant_id, tenant.profile, ProfileFor(config, embedder)));
  return tenant;
}

Result<TenantStore> OpenTenantAsRecorded(const Config& config, const WriteLockOptions& lock, int dimension) {
  TenantStore tenant;
  {
    ASSIGN_OR_RETURN(TenantStore reading, OpenTenantForReading(config));
    tenant.profile = reading.profile;
  }
  ASSIGN_OR_RETURN(tenant.store,
                   Open(config, dimension != 0 ? dimension : tenant.profile.dimension, /*read_only=*/false));
  ASSIGN_OR_RETURN(tenant.lock, tenant.store->LockTenantForWrite(config.tenant_id, lock));
  // What the tenant is now, under the lock (a writer may have finished in between).
  ASSIGN_OR_RETURN(std::optional<TenantProfile> recorded, tenant.store->LoadProfile(config.tenant_id));
  if (!recorded) return Error(NeverSynced(config));
  tenant.profile = *recorded;
  return tenant;
}

Result<TenantProfile> PrepareSyncProfile(const Config& config, const Embedder& embedder, TenantStore& tenant) {
  const TenantProfile wanted = ProfileFor(config, embedder);
  TenantProfile profile = tenant.profile;
  const bool nothing_embedded = profile.model_id.empty();
  if (tenant.is_new) {
    profile = wanted;
  } else if (profile.writes_records && !wanted.writes_records) {
    return Error(InvalidArgument(
        "tenant " + config.tenant_id + " was synced in " + profile.DescribeMode() + "; syncing it in " +
        wanted.DescribeMode() + " would leave its SQL records stale. Keep ENABLE_FULL_STREAMING_MODE=false (or "
        "VECTOR_ONLY_MODE_MINIMAL_SQL=false), or switch with `deskpipe reset --tenant " + config.tenant_id +
        "` and a new sync"));
  } else if (!profile.writes_records && wanted.writes_records) {
    profile.writes_records = true;
    profile.records_backfill = true;  // every record is read again until a run completes
  }
  if (nothing_embedded) {
    profile.embedder = wanted.embedder;
    profile.model_id = wanted.model_id;
    profile.dimension = wanted.dimension;
  } else if (profile.embedder.empty() && profile.model_id == wanted.model_id) {
    profile.embedder = wanted.embedder;  // inferred from chunks: now known by name
    profile.dimension = wanted.dimension;
  }
  RETURN_IF_ERROR(tenant.store->SaveProfile(config.tenant_id, profile));
  tenant.profile = profile;
  tenant.is_new = false;
  return profile;
}

std::vector<std::string> ModeProblems(const Config& config, const TenantProfile& recorded) {
  std::vector<std::string> problems;
  const bool wants_records = StoreOptionsFor(config, recorded.dimension).WritesRecords();
  if (recorded.records_backfill) {
    problems.push_back("records: the tenant switched to hybrid mode and its SQL records are not all backfilled "
                       "yet; run `deskpipe sync` to finish");
  } else if (!recorded.writes_records && wants_records) {
    problems.push_back("records: the tenant was synced in vector-only mode, so SQL holds no records; the next "
                       "`deskpipe sync` in hybrid mode backfills them");
  }
  return problems;
}

}  // namespace deskpipe
