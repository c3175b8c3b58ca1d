// StoreKnownRecords: the KnownRecords view a source diffs against (removed conversations, the reconciliation
// sweep, knowledge-base tombstones), answered by the Store for one tenant (Store::ListKnown, KnownChildren,
// LookupKnown). The runner attaches one to the source before fetching, so these features work in real syncs.
//
// Thread-safety: every call takes `store_mutex`, the mutex that serializes the runner's store access, so the
// fetch thread may call it while the store thread commits. Detach() (also under the mutex) makes later calls
// fail with Cancelled instead of touching a store that is going away: a fetch thread the runner abandoned in
// the network may still call it. Lifetime: the mutex must outlive this object; the store must outlive it or
// Detach() must be called before the store goes.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "platforms/platform.h"
#include "store/store.h"

namespace deskpipe {

class StoreKnownRecords : public KnownRecords {
 public:
  StoreKnownRecords(Store& store, std::string tenant_id, std::mutex& store_mutex);

  Result<std::vector<KnownRecord>> List(const std::string& type, const std::string& after_id,
                                        size_t limit) override;
  Result<std::vector<KnownRecord>> Children(const std::string& parent_id) override;
  Result<std::vector<KnownRecord>> Lookup(const std::vector<std::string>& ids) override;

  // Later calls fail with Cancelled and never touch the store.
  void Detach();

 private:
  Status DetachedError() const;

  Store* store_;  // null once detached; guarded by store_mutex_
  std::string tenant_id_;
  std::mutex& store_mutex_;
};

}  // namespace deskpipe
