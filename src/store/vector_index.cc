#include "store/vector_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <usearch/index_dense.hpp>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define DESKPIPE_X86_KERNELS 1
#endif

namespace deskpipe {
namespace {

namespace us = unum::usearch;
using DenseIndex = us::index_dense_t;

constexpr size_t kInitialCapacity = 1024;
// Fewer adds than this per worker are not worth a thread.
constexpr size_t kMinAddsPerWorker = 32;

size_t WorkerCount() { return std::max<size_t>(1, std::thread::hardware_concurrency()); }

// usearch reports failures as error_t objects whose destructor throws if nobody took the message: take it
// and turn it into a Status here, at the edge.
Status FromUsearch(us::error_t& error, const std::string& what) {
  const char* message = error.release();
  return Internal(what + ": " + (message ? message : "unknown usearch error"));
}

// ---- distance kernels ----
// Vectors are stored unit-length in float16 (half the memory traffic of float32, which bounds HNSW at 512-d),
// so cosine distance is 1 - a·b. One kernel per instruction set, picked once at startup.

float DotPortable(const uint16_t* a, const uint16_t* b, size_t n) {
  float sums[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (size_t j = 0; j < 4; ++j) sums[j] += us::f16_to_f32(a[i + j]) * us::f16_to_f32(b[i + j]);
  }
  for (; i < n; ++i) sums[0] += us::f16_to_f32(a[i]) * us::f16_to_f32(b[i]);
  return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

#ifdef DESKPIPE_X86_KERNELS
__attribute__((target("avx2,fma,f16c"))) float DotAvx2(const uint16_t* a, const uint16_t* b, size_t n) {
  // Independent accumulators hide the FMA latency.
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
// (A macro, not a lambda: a lambda would not inherit the function's target attribute.)
#define DESKPIPE_LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(DESKPIPE_LOAD_F16(a + i), DESKPIPE_LOAD_F16(b + i), s0);
    s1 = _mm256_fmadd_ps(DESKPIPE_LOAD_F16(a + i + 8), DESKPIPE_LOAD_F16(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(DESKPIPE_LOAD_F16(a + i + 16), DESKPIPE_LOAD_F16(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(DESKPIPE_LOAD_F16(a + i + 24), DESKPIPE_LOAD_F16(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(DESKPIPE_LOAD_F16(a + i), DESKPIPE_LOAD_F16(b + i), s0);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  float sum = 0;
  for (float lane : lanes) sum += lane;
  for (; i < n; ++i) sum += us::f16_to_f32(a[i]) * us::f16_to_f32(b[i]);
  return sum;
#undef DESKPIPE_LOAD_F16
}

// Not _mm512_reduce_add_ps: GCC 12 warns inside it (-Wuninitialized on its own undefined temporaries).
__attribute__((target("avx512f"))) float DotAvx512(const uint16_t* a, const uint16_t* b, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
// The zero-masked form: the plain one trips the same GCC 12 warning.
#define DESKPIPE_LOAD_F16(p) \
  _mm512_maskz_cvtph_ps(static_cast<__mmask16>(0xFFFF), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)))
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_fmadd_ps(DESKPIPE_LOAD_F16(a + i), DESKPIPE_LOAD_F16(b + i), s0);
    s1 = _mm512_fmadd_ps(DESKPIPE_LOAD_F16(a + i + 16), DESKPIPE_LOAD_F16(b + i + 16), s1);
    s2 = _mm512_fmadd_ps(DESKPIPE_LOAD_F16(a + i + 32), DESKPIPE_LOAD_F16(b + i + 32), s2);
    s3 = _mm512_fmadd_ps(DESKPIPE_LOAD_F16(a + i + 48), DESKPIPE_LOAD_F16(b + i + 48), s3);
  }
  for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(DESKPIPE_LOAD_F16(a + i), DESKPIPE_LOAD_F16(b + i), s0);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  float sum = 0;
  for (float lane : lanes) sum += lane;
  for (; i < n; ++i) sum += us::f16_to_f32(a[i]) * us::f16_to_f32(b[i]);
  return sum;
#undef DESKPIPE_LOAD_F16
}
#endif

using DotKernel = float (*)(const uint16_t*, const uint16_t*, size_t);

struct KernelChoice {
  DotKernel kernel;
  const char* name;
};

KernelChoice ChooseKernel() {
#ifdef DESKPIPE_X86_KERNELS
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0).
  if (__builtin_cpu_supports("avx512f")) return {&DotAvx512, "avx512f (f16)"};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
    return {&DotAvx2, "avx2+fma+f16c (f16)"};
  }
#endif
  return {&DotPortable, "portable (f16)"};
}

const KernelChoice& Kernel() {
  static const KernelChoice choice = ChooseKernel();
  return choice;
}

// The signature usearch calls for a stateless metric with a length argument (all arguments pointer-sized).
us::distance_punned_t UnitCosineDistance(size_t a, size_t b, size_t dimensions) {
  return 1.0f - Kernel().kernel(reinterpret_cast<const uint16_t*>(a), reinterpret_cast<const uint16_t*>(b),
                                dimensions);
}

// Inner product over unit vectors: the file says so (ip, f16), so any usearch reader computes the right
// distance, and an older file (cos over raw float32) is recognized and rebuilt.
constexpr us::metric_kind_t kMetricKind = us::metric_kind_t::ip_k;
constexpr us::scalar_kind_t kScalarKind = us::scalar_kind_t::f16_k;

us::metric_punned_t UnitCosineMetric(size_t dimensions) {
  return us::metric_punned_t::stateless(dimensions, reinterpret_cast<std::uintptr_t>(&UnitCosineDistance),
                                        us::metric_punned_signature_t::array_array_size_k, kMetricKind,
                                        kScalarKind);
}

// `vector` scaled to unit length into `out` (a zero vector stays zero).
void Normalize(const float* vector, size_t n, float* out) {
  double norm = 0;
  for (size_t i = 0; i < n; ++i) norm += static_cast<double>(vector[i]) * vector[i];
  const float scale = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
  for (size_t i = 0; i < n; ++i) out[i] = vector[i] * scale;
}

}  // namespace

const char* VectorIndex::KernelName() { return Kernel().name; }

struct VectorIndex::Impl {
  DenseIndex index;
};

VectorIndex::VectorIndex(std::string path, int dimension, Params params, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), dimension_(dimension), params_(params), impl_(std::move(impl)) {}

VectorIndex::~VectorIndex() = default;

Result<std::unique_ptr<VectorIndex>> VectorIndex::Open(const std::string& path, int dimension) {
  return Open(path, dimension, Params());
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::Open(const std::string& path, int dimension,
                                                       const Params& params) {
  if (dimension <= 0) return Error(InvalidArgument("vector index dimension must be positive"));
  if (params.connectivity < 2 || params.expansion_add == 0 || params.expansion_search == 0) {
    return Error(InvalidArgument("vector index needs connectivity ≥ 2 and positive expansions"));
  }
  try {
    auto impl = std::make_unique<Impl>();
    std::error_code ec;
    const us::metric_punned_t metric = UnitCosineMetric(static_cast<size_t>(dimension));
    if (!path.empty() && std::filesystem::exists(path, ec)) {
      auto loaded = DenseIndex::make(path.c_str());
      if (!loaded) return Error(FromUsearch(loaded.error, "cannot load vector index " + path));
      impl->index = std::move(loaded.index);
      if (impl->index.dimensions() != static_cast<size_t>(dimension)) {
        return Error(Internal("vector index " + path + " has dimension " +
                              std::to_string(impl->index.dimensions()) + ", expected " +
                              std::to_string(dimension)));
      }
      if (impl->index.metric_kind() != kMetricKind || impl->index.scalar_kind() != kScalarKind) {
        return Error(Internal("vector index " + path + " has an older format (not unit float16 vectors); "
                              "rebuild it from SQL"));
      }
      // The file records only the metric's kind; use the same SIMD kernel as a fresh index.
      if (!impl->index.try_change_metric(metric)) {
        return Error(Internal("cannot set the distance kernel of vector index " + path));
      }
      impl->index.change_expansion_add(params.expansion_add);
      impl->index.change_expansion_search(params.expansion_search);
    } else {
      us::index_dense_config_t config(params.connectivity, params.expansion_add, params.expansion_search);
      auto made = DenseIndex::make(metric, config, us::default_free_value<DenseIndex::vector_key_t>(),
                                   us::index_limits_t(kInitialCapacity, WorkerCount()));
      if (!made) return Error(FromUsearch(made.error, "cannot create vector index"));
      impl->index = std::move(made.index);
    }
    std::unique_ptr<VectorIndex> index(new VectorIndex(path, dimension, params, std::move(impl)));
    RETURN_IF_ERROR(index->EnsureCapacity(std::max(kInitialCapacity, index->size())));
    return index;
  } catch (const std::exception& e) {
    return Error(Internal("vector index " + path + ": " + e.what()));
  }
}

Result<void> VectorIndex::EnsureCapacity(size_t vectors) {
  DenseIndex& index = impl_->index;
  // A loaded index starts with usearch's own thread limits: make sure every worker has a slot.
  const bool threads_ok = index.limits().threads_add >= WorkerCount() && index.limits().threads_search >= 1;
  if (vectors <= index.capacity() && threads_ok) return {};
  // Grow geometrically so a stream of single adds does not reallocate each time.
  const size_t wanted = vectors <= index.capacity() ? index.capacity()
                                                    : std::max({kInitialCapacity, vectors, index.capacity() * 2});
  if (!index.try_reserve(us::index_limits_t(wanted, WorkerCount()))) {
    return Error(Internal("cannot grow vector index to " + std::to_string(wanted) + " vectors"));
  }
  return {};
}

Result<void> VectorIndex::Reserve(size_t vectors) {
  try {
    return EnsureCapacity(vectors);
  } catch (const std::exception& e) {
    return Error(Internal("vector index reserve: " + std::string(e.what())));
  }
}

Result<void> VectorIndex::Add(int64_t key, const std::vector<float>& vector) {
  return AddBatch({{key, &vector}});
}

Result<void> VectorIndex::AddBatch(const std::vector<std::pair<int64_t, const std::vector<float>*>>& items) {
  for (const auto& [key, vector] : items) {
    if (vector == nullptr || vector->size() != static_cast<size_t>(dimension_)) {
      return Error(InvalidArgument("vector for key " + std::to_string(key) + " has " +
                                   std::to_string(vector ? vector->size() : 0) + " dimensions, index has " +
                                   std::to_string(dimension_)));
    }
  }
  if (items.empty()) return {};
  try {
    DenseIndex& index = impl_->index;
    // The last vector of each key, in first-seen order.
    std::vector<std::pair<DenseIndex::vector_key_t, const float*>> unique;
    unique.reserve(items.size());
    std::unordered_map<int64_t, size_t> position;
    for (const auto& [key, vector] : items) {
      auto [it, inserted] = position.try_emplace(key, unique.size());
      if (inserted) {
        unique.emplace_back(static_cast<DenseIndex::vector_key_t>(key), vector->data());
      } else {
        unique[it->second].second = vector->data();
      }
    }
    for (const auto& [key, data] : unique) {
      if (!index.contains(key)) continue;
      auto removed = index.remove(key);
      if (!removed) return Error(FromUsearch(removed.error, "cannot replace vector " + std::to_string(key)));
    }
    // Removed slots are reused first, so this is an upper bound on the growth.
    RETURN_IF_ERROR(EnsureCapacity(index.size() + unique.size()));

    const size_t workers = std::min(WorkerCount(), std::max<size_t>(1, unique.size() / kMinAddsPerWorker));
    std::atomic<size_t> next{0};
    std::mutex error_mutex;
    Status first_error;
    // Each worker passes its own thread id, so usearch gives it its own search context (concurrent adds).
    const size_t dimension = static_cast<size_t>(dimension_);
    auto work = [&](size_t thread) {
      std::vector<float> unit(dimension);
      while (true) {
        const size_t i = next.fetch_add(1);
        if (i >= unique.size()) return;
        Status failed;
        try {
          Normalize(unique[i].second, dimension, unit.data());
          auto added = index.add(unique[i].first, unit.data(), thread);
          if (!added) failed = FromUsearch(added.error, "cannot add vector " + std::to_string(unique[i].first));
        } catch (const std::exception& e) {
          failed = Internal("vector index add: " + std::string(e.what()));
        }
        if (!failed.ok()) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (first_error.ok()) first_error = failed;
          next.store(unique.size());
          return;
        }
      }
    };
    std::vector<std::thread> pool;
    pool.reserve(workers - 1);
    for (size_t t = 1; t < workers; ++t) pool.emplace_back(work, t);
    work(0);
    for (std::thread& thread : pool) thread.join();
    return ToResult(first_error);
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

Result<std::vector<std::pair<int64_t, float>>> VectorIndex::Search(const std::vector<float>& query, int k,
                                                                   const std::function<bool(int64_t)>& filter,
                                                                   size_t expansion) const {
  if (query.size() != static_cast<size_t>(dimension_)) {
    return Error(InvalidArgument("query vector has " + std::to_string(query.size()) +
                                 " dimensions, index has " + std::to_string(dimension_)));
  }
  std::vector<std::pair<int64_t, float>> hits;
  if (k <= 0 || impl_->index.size() == 0) return hits;
  try {
    DenseIndex& index = impl_->index;
    std::vector<float> unit(query.size());
    Normalize(query.data(), query.size(), unit.data());
    // usearch reads the search expansion from its config: set it for this call (calls are serialized).
    index.change_expansion_search(expansion > 0 ? expansion : params_.expansion_search);
    auto result = filter ? index.filtered_search(unit.data(), static_cast<size_t>(k),
                                                 [&filter](DenseIndex::vector_key_t key) {
                                                   return filter(static_cast<int64_t>(key));
                                                 })
                         : index.search(unit.data(), static_cast<size_t>(k));
    index.change_expansion_search(params_.expansion_search);
    if (!result) return Error(FromUsearch(result.error, "vector search failed"));
    hits.reserve(result.size());
    for (size_t i = 0; i < result.size(); ++i) {
      auto match = result[i];
      hits.emplace_back(static_cast<int64_t>(match.member.key), 1.0f - static_cast<float>(match.distance));
    }
    return hits;
  } catch (const std::exception& e) {
    impl_->index.change_expansion_search(params_.expansion_search);
    return Error(Internal("vector search: " + std::string(e.what())));
  }
}

Result<std::vector<std::pair<int64_t, float>>> VectorIndex::ExactSearch(const std::vector<float>& query, int k,
                                                                        const std::vector<int64_t>& keys) const {
  if (query.size() != static_cast<size_t>(dimension_)) {
    return Error(InvalidArgument("query vector has " + std::to_string(query.size()) +
                                 " dimensions, index has " + std::to_string(dimension_)));
  }
  std::vector<std::pair<int64_t, float>> hits;
  if (k <= 0 || keys.empty()) return hits;
  try {
    const size_t dimension = static_cast<size_t>(dimension_);
    // The query rounded to float16 like the stored vectors, so scores match the graph search's.
    std::vector<float> unit(dimension);
    Normalize(query.data(), dimension, unit.data());
    std::vector<uint16_t> query_f16(dimension), stored(dimension);
    for (size_t i = 0; i < dimension; ++i) query_f16[i] = us::f32_to_f16(unit[i]);
    hits.reserve(keys.size());
    for (int64_t key : keys) {
      // get() into float16 copies the stored bits without conversion.
      auto* out = reinterpret_cast<us::f16_t*>(stored.data());
      if (impl_->index.get(static_cast<DenseIndex::vector_key_t>(key), out) == 0) continue;
      hits.emplace_back(key, Kernel().kernel(query_f16.data(), stored.data(), dimension));
    }
    const size_t keep = std::min(hits.size(), static_cast<size_t>(k));
    std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(keep), hits.end(),
                      [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
    hits.resize(keep);
    return hits;
  } catch (const std::exception& e) {
    return Error(Internal("exact vector search: " + std::string(e.what())));
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
