#include "store/vector_index.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <system_error>
#include <usearch/index_dense.hpp>

namespace deskpipe {
namespace {

namespace us = unum::usearch;
using DenseIndex = us::index_dense_t;

constexpr size_t kInitialCapacity = 1024;

// usearch reports failures as error_t objects whose destructor throws if nobody took the message: take it
// and turn it into a Status here, at the edge.
Status FromUsearch(us::error_t& error, const std::string& what) {
  const char* message = error.release();
  return Internal(what + ": " + (message ? message : "unknown usearch error"));
}

}  // namespace

struct VectorIndex::Impl {
  DenseIndex index;
};

VectorIndex::VectorIndex(std::string path, int dimension, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), dimension_(dimension), impl_(std::move(impl)) {}

VectorIndex::~VectorIndex() = default;

Result<std::unique_ptr<VectorIndex>> VectorIndex::Open(const std::string& path, int dimension) {
  if (dimension <= 0) return Error(InvalidArgument("vector index dimension must be positive"));
  try {
    auto impl = std::make_unique<Impl>();
    std::error_code ec;
    if (!path.empty() && std::filesystem::exists(path, ec)) {
      auto loaded = DenseIndex::make(path.c_str());
      if (!loaded) return Error(FromUsearch(loaded.error, "cannot load vector index " + path));
      impl->index = std::move(loaded.index);
      if (impl->index.dimensions() != static_cast<size_t>(dimension)) {
        return Error(Internal("vector index " + path + " has dimension " +
                              std::to_string(impl->index.dimensions()) + ", expected " +
                              std::to_string(dimension)));
      }
      if (impl->index.metric_kind() != us::metric_kind_t::cos_k) {
        return Error(Internal("vector index " + path + " does not use the cosine metric"));
      }
    } else {
      us::metric_punned_t metric(static_cast<size_t>(dimension), us::metric_kind_t::cos_k,
                                 us::scalar_kind_t::f32_k);
      auto made = DenseIndex::make(metric);
      if (!made) return Error(FromUsearch(made.error, "cannot create vector index"));
      impl->index = std::move(made.index);
    }
    if (impl->index.capacity() < kInitialCapacity &&
        !impl->index.try_reserve(us::index_limits_t(std::max(kInitialCapacity, impl->index.size()), 1))) {
      return Error(Internal("cannot reserve memory for vector index"));
    }
    return std::unique_ptr<VectorIndex>(new VectorIndex(path, dimension, std::move(impl)));
  } catch (const std::exception& e) {
    return Error(Internal("vector index " + path + ": " + e.what()));
  }
}

Result<void> VectorIndex::Add(int64_t key, const std::vector<float>& vector) {
  if (vector.size() != static_cast<size_t>(dimension_)) {
    return Error(InvalidArgument("vector for key " + std::to_string(key) + " has " +
                                 std::to_string(vector.size()) + " dimensions, index has " +
                                 std::to_string(dimension_)));
  }
  try {
    DenseIndex& index = impl_->index;
    const auto ukey = static_cast<DenseIndex::vector_key_t>(key);
    if (index.contains(ukey)) {
      auto removed = index.remove(ukey);
      if (!removed) return Error(FromUsearch(removed.error, "cannot replace vector " + std::to_string(key)));
    }
    // Removed slots are reused first, so growth is only needed when none is free; grow geometrically.
    if (index.size() + 1 > index.capacity()) {
      const size_t wanted = std::max(kInitialCapacity, index.capacity() * 2);
      if (!index.try_reserve(us::index_limits_t(wanted, 1))) {
        return Error(Internal("cannot grow vector index to " + std::to_string(wanted) + " vectors"));
      }
    }
    auto added = index.add(ukey, vector.data());
    if (!added) return Error(FromUsearch(added.error, "cannot add vector " + std::to_string(key)));
    return {};
  } catch (const std::exception& e) {
    return Error(Internal("vector index add: " + std::string(e.what())));
  }
}

Result<void> VectorIndex::Remove(int64_t key) {
  try {
    auto removed = impl_->index.remove(static_cast<DenseIndex::vector_key_t>(key));
    if (!removed) return Error(FromUsearch(removed.error, "cannot remove vector " + std::to_string(key)));
    return {};
  } catch (const std::exception& e) {
    return Error(Internal("vector index remove: " + std::string(e.what())));
  }
}

bool VectorIndex::Contains(int64_t key) const {
  return impl_->index.contains(static_cast<DenseIndex::vector_key_t>(key));
}

std::vector<float> VectorIndex::Get(int64_t key) const {
  std::vector<float> vector(static_cast<size_t>(dimension_));
  try {
    if (impl_->index.get(static_cast<DenseIndex::vector_key_t>(key), vector.data()) == 0) return {};
  } catch (const std::exception&) {
    return {};
  }
  return vector;
}

std::vector<int64_t> VectorIndex::Keys() const {
  std::vector<DenseIndex::vector_key_t> raw(impl_->index.size());
  if (!raw.empty()) impl_->index.export_keys(raw.data(), 0, raw.size());
  std::vector<int64_t> keys(raw.begin(), raw.end());
  std::sort(keys.begin(), keys.end());
  return keys;
}

Result<std::vector<std::pair<int64_t, float>>> VectorIndex::Search(
    const std::vector<float>& query, int k, const std::function<bool(int64_t)>& filter) const {
  if (query.size() != static_cast<size_t>(dimension_)) {
    return Error(InvalidArgument("query vector has " + std::to_string(query.size()) +
                                 " dimensions, index has " + std::to_string(dimension_)));
  }
  std::vector<std::pair<int64_t, float>> hits;
  if (k <= 0 || impl_->index.size() == 0) return hits;
  try {
    const DenseIndex& index = impl_->index;
    auto result = filter ? index.filtered_search(query.data(), static_cast<size_t>(k),
                                                 [&filter](DenseIndex::vector_key_t key) {
                                                   return filter(static_cast<int64_t>(key));
                                                 })
                         : index.search(query.data(), static_cast<size_t>(k));
    if (!result) return Error(FromUsearch(result.error, "vector search failed"));
    hits.reserve(result.size());
    for (size_t i = 0; i < result.size(); ++i) {
      auto match = result[i];
      hits.emplace_back(static_cast<int64_t>(match.member.key), 1.0f - static_cast<float>(match.distance));
    }
    return hits;
  } catch (const std::exception& e) {
    return Error(Internal("vector search: " + std::string(e.what())));
  }
}

size_t VectorIndex::size() const { return impl_->index.size(); }

Result<void> VectorIndex::Save() {
  if (path_.empty()) return {};
  const std::string temp = path_ + ".tmp";
  try {
    auto saved = impl_->index.save(temp.c_str());
    if (!saved) {
      std::remove(temp.c_str());
      return Error(FromUsearch(saved.error, "cannot write vector index " + temp));
    }
  } catch (const std::exception& e) {
    std::remove(temp.c_str());
    return Error(Internal("cannot write vector index " + temp + ": " + e.what()));
  }
  std::error_code ec;
  std::filesystem::rename(temp, path_, ec);
  if (ec) return Error(Internal("cannot rename " + temp + " to " + path_ + ": " + ec.message()));
  return {};
}

void VectorIndex::Clear() { impl_->index.clear(); }

}  // namespace deskpipe
