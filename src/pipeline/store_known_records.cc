#include "pipeline/store_known_records.h"

#include <utility>

namespace deskpipe {

StoreKnownRecords::StoreKnownRecords(Store& store, std::string tenant_id, std::mutex& store_mutex)
    : store_(&store), tenant_id_(std::move(tenant_id)), store_mutex_(store_mutex) {}

Status StoreKnownRecords::DetachedError() const {
  return Cancelled("the store of tenant " + tenant_id_ + " is no longer open to the source (the run ended)");
}

Result<std::vector<KnownRecord>> StoreKnownRecords::List(const std::string& type, const std::string& after_id,
                                                         size_t limit) {
  std::lock_guard lock(store_mutex_);
  if (store_ == nullptr) return Error(DetachedError());
  return store_->ListKnown(tenant_id_, type, after_id, limit);
}

Result<std::vector<KnownRecord>> StoreKnownRecords::Children(const std::string& parent_id) {
  std::lock_guard lock(store_mutex_);
  if (store_ == nullptr) return Error(DetachedError());
  return store_->KnownChildren(tenant_id_, parent_id);
}

Result<std::vector<KnownRecord>> StoreKnownRecords::Lookup(const std::vector<std::string>& ids) {
  std::lock_guard lock(store_mutex_);
  if (store_ == nullptr) return Error(DetachedError());
  return store_->LookupKnown(tenant_id_, ids);
}

void StoreKnownRecords::Detach() {
  std::lock_guard lock(store_mutex_);
  store_ = nullptr;
}

}  // namespace deskpipe
