#include "store/segmented_index.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <thread>

#include "core/log.h"

namespace deskpipe {
namespace {

namespace fs = std::filesystem;

constexpr char kSealedInfix[] = ".sealed-";

// {base}.sealed-{last key, 20 digits}: names sort in key order.
std::string SealedPath(const std::string& base, int64_t last_key) {
  char digits[24];
  std::snprintf(digits, sizeof(digits), "%020lld", static_cast<long long>(last_key));
  return base + kSealedInfix + digits;
}

Result<void> WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) return Error(Internal("cannot write " + temp));
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) return Error(Internal("cannot rename " + temp + " to " + path + ": " + ec.message()));
  return {};
}

Result<void> RemoveFile(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) return Error(Internal("cannot remove " + path + ": " + ec.message()));
  return {};
}

// Best first; equal scores by key, so merged results do not depend on the segment order.
void SortHits(std::vector<std::pair<int64_t, float>>& hits, int k) {
  std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  });
  if (hits.size() > static_cast<size_t>(std::max(k, 0))) hits.resize(static_cast<size_t>(std::max(k, 0)));
}

}  // namespace

SegmentedIndex::SegmentedIndex(std::string base_path, Options options, std::vector<Sealed> sealed,
                               std::unique_ptr<VectorIndex> growing, bool stale)
    : base_path_(std::move(base_path)),
      options_(options),
      sealed_(std::move(sealed)),
      growing_(std::move(growing)),
      stale_(stale) {}

Result<std::unique_ptr<SegmentedIndex>> SegmentedIndex::Open(const std::string& base_path, const Options& options,
                                                             int64_t generation) {
  if (base_path.empty()) return Error(InvalidArgument("a segmented vector index needs a file path"));
  if (options.seal_at == 0) return Error(InvalidArgument("vector segments must hold at least one vector"));
  const fs::path base(base_path);
  std::error_code ec;
  if (!options.read_only) {
    fs::create_directories(base.parent_path(), ec);
    if (ec) return Error(Internal("cannot create " + base.parent_path().string() + ": " + ec.message()));
  } else if (!fs::exists(base.parent_path(), ec)) {
    ASSIGN_OR_RETURN(auto empty, VectorIndex::Open("", options.dimension, options.params));
    return std::unique_ptr<SegmentedIndex>(new SegmentedIndex(base_path, options, {}, std::move(empty), true));
  }

  std::vector<Sealed> sealed;
  const std::string prefix = base.filename().string() + kSealedInfix;
  for (const fs::directory_entry& entry : fs::directory_iterator(base.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + 20 || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    sealed.push_back({std::stoll(digits), entry.path().string(), nullptr});
  }
  if (ec) return Error(Internal("cannot list " + base.parent_path().string() + ": " + ec.message()));
  std::sort(sealed.begin(), sealed.end(), [](const Sealed& a, const Sealed& b) { return a.last_key < b.last_key; });

  std::unique_ptr<VectorIndex> growing;
  {
    std::ifstream sidecar(base_path + ".gen");
    int64_t saved = -1;
    if (sidecar >> saved && saved == generation && fs::exists(base_path, ec)) {
      auto loaded = VectorIndex::Open(base_path, options.dimension, options.params);
      if (loaded) {
        growing = std::move(*loaded);
      } else {
        // Nothing is lost (SQL holds every vector), but a damaged file is worth knowing about.
        log::Warn("vector index " + base_path + " is unreadable; rebuilding it from SQL",
                  {{"file", base_path}, {"reason", loaded.error().message()}});
      }
    }
  }
  const bool stale = growing == nullptr;
  if (stale && options.read_only) {
    ASSIGN_OR_RETURN(growing, VectorIndex::Open("", options.dimension, options.params));
  } else if (stale) {
    RETURN_IF_ERROR(RemoveFile(base_path + ".gen"));
    RETURN_IF_ERROR(RemoveFile(base_path));
    ASSIGN_OR_RETURN(growing, VectorIndex::Open(base_path, options.dimension, options.params));
  }
  return std::unique_ptr<SegmentedIndex>(
      new SegmentedIndex(base_path, options, std::move(sealed), std::move(growing), stale));
}

Result<void> SegmentedIndex::RemoveFiles(const std::string& base_path) {
  const fs::path base(base_path);
  const std::string name = base.filename().string();
  std::error_code ec;
  std::vector<std::string> doomed;
  for (const fs::directory_entry& entry : fs::directory_iterator(base.parent_path(), ec)) {
    const std::string file = entry.path().filename().string();
    // The growing file, its sidecar, sealed segments and the temporaries of each.
    if (file == name || file.compare(0, name.size() + 1, name + ".") == 0) doomed.push_back(entry.path().string());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Error(Internal("cannot list " + base.parent_path().string() + ": " + ec.message()));
  }
  for (const std::string& path : doomed) RETURN_IF_ERROR(RemoveFile(path));
  return {};
}

Result<void> SegmentedIndex::AddBatch(const std::vector<std::pair<int64_t, const std::vector<float>*>>& items,
                                      size_t max_threads) {
  for (const auto& item : items) {
    if (item.first <= sealed_through()) {
      return Error(Internal("vector key " + std::to_string(item.first) + " is not above the sealed segments (" +
                            std::to_string(sealed_through()) + "): chunk rowids must only grow"));
    }
  }
  return growing_->AddBatch(items, max_threads);
}

Result<void> SegmentedIndex::Remove(int64_t key) {
  if (key <= sealed_through()) return {};  // dead in its sealed segment; searches filter it out
  return growing_->Remove(key);
}

Result<void> SegmentedIndex::SealIfFull() {
  if (options_.read_only || growing_->size() < options_.seal_at) return {};
  return Seal();
}

Result<void> SegmentedIndex::Seal() {
  if (options_.read_only) return {};
  const std::vector<int64_t> keys = growing_->Keys();
  if (keys.empty()) return {};
  RETURN_IF_ERROR(RemoveFile(base_path_ + ".gen"));
  const std::string path = SealedPath(base_path_, keys.back());
  RETURN_IF_ERROR(growing_->SaveAs(path));
  sealed_.push_back({keys.back(), path, nullptr});
  // The old growing file is stale now (no sidecar); the next Save() writes the new one.
  RETURN_IF_ERROR(RemoveFile(base_path_));
  ASSIGN_OR_RETURN(growing_, VectorIndex::Open(base_path_, options_.dimension, options_.params));
  return {};
}

Result<VectorIndex*> SegmentedIndex::View(Sealed& segment) {
  if (!segment.view) {
    auto view = VectorIndex::OpenView(segment.path, options_.dimension, options_.params);
    if (!view) {
      // The file names its tenant: {tenant}.usearch.sealed-….
      const std::string tenant = fs::path(base_path_).stem().string();
      return Error(DataLoss("the vector index segment " + segment.path + " is damaged (" + view.error().message() +
                            "): run `deskpipe reset --tenant " + tenant +
                            "` and sync again, or restore the data directory from a backup"));
    }
    segment.view = std::move(*view);
  }
  return segment.view.get();
}

SegmentedIndex::Sealed* SegmentedIndex::SegmentOf(int64_t key) {
  if (key > sealed_through()) return nullptr;
  auto it = std::lower_bound(sealed_.begin(), sealed_.end(), key,
                             [](const Sealed& segment, int64_t k) { return segment.last_key < k; });
  return &*it;
}

Result<std::vector<std::pair<int64_t, float>>> SegmentedIndex::Search(const std::vector<float>& query, int k,
                                                                      const std::function<bool(int64_t)>& filter,
                                                                      size_t expansion) {
  if (requires_filter() && !filter) {
    return Error(Internal("a search over sealed vector segments needs a filter of live keys"));
  }
  std::vector<VectorIndex*> segments = {growing_.get()};
  for (Sealed& segment : sealed_) {
    ASSIGN_OR_RETURN(VectorIndex * view, View(segment));
    segments.push_back(view);
  }
  // The segments are independent graphs: search them on every core (each VectorIndex is used by one thread).
  std::vector<Result<std::vector<std::pair<int64_t, float>>>> found(segments.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < segments.size(); i = next++) found[i] = segments[i]->Search(query, k, filter, expansion);
  };
  const size_t workers = std::min<size_t>(segments.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < workers; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& helper : helpers) helper.join();

  std::vector<std::pair<int64_t, float>> hits;
  for (auto& result : found) {
    if (!result) return Error(result.error());
    hits.insert(hits.end(), result->begin(), result->end());
  }
  SortHits(hits, k);
  return hits;
}

Result<std::vector<std::pair<int64_t, float>>> SegmentedIndex::ExactSearch(const std::vector<float>& query, int k,
                                                                           const std::vector<int64_t>& keys) {
  std::vector<int64_t> growing_keys;
  std::vector<std::vector<int64_t>> sealed_keys(sealed_.size());
  for (int64_t key : keys) {
    Sealed* segment = SegmentOf(key);
    if (segment == nullptr) {
      growing_keys.push_back(key);
    } else {
      sealed_keys[static_cast<size_t>(segment - sealed_.data())].push_back(key);
    }
  }
  ASSIGN_OR_RETURN(auto hits, growing_->ExactSearch(query, k, growing_keys));
  for (size_t i = 0; i < sealed_.size(); ++i) {
    if (sealed_keys[i].empty()) continue;
    ASSIGN_OR_RETURN(VectorIndex * view, View(sealed_[i]));
    ASSIGN_OR_RETURN(auto more, view->ExactSearch(query, k, sealed_keys[i]));
    hits.insert(hits.end(), more.begin(), more.end());
  }
  SortHits(hits, k);
  return hits;
}

Result<std::vector<int64_t>> SegmentedIndex::Keys() {
  std::vector<int64_t> keys = growing_->Keys();
  for (Sealed& segment : sealed_) {
    ASSIGN_OR_RETURN(VectorIndex * view, View(segment));
    const std::vector<int64_t> more = view->Keys();
    keys.insert(keys.end(), more.begin(), more.end());
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

Result<void> SegmentedIndex::Save(int64_t generation) {
  if (options_.read_only) return {};
  // Segment first, then the sidecar: a crash in between leaves a mismatch, hence a refill, never a stale
  // segment that claims to be current.
  RETURN_IF_ERROR(growing_->Save());
  stale_ = false;
  return WriteFileAtomically(base_path_ + ".gen", std::to_string(generation) + "\n");
}

}  // namespace deskpipe
