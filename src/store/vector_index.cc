#include "store/vector_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
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

// ---- vector codes and distance kernels ----
// A vector is stored as a code of dimension + 8 bytes: the unit-length vector quantized to int8 with its own
// scale (the largest component maps to ±127), then that scale (float) and the sum of the int8 values (int32).
// Half the bytes of float16, so HNSW, bound by memory traffic at 512-d, touches half the cache lines, and the
// dot product is an exact integer sum, so every kernel below gives the same score. The sum serves the AVX-512
// VNNI kernel, whose multiply takes one unsigned operand: Σ(a+128)·b − 128·Σb = Σa·b.

constexpr size_t kCodeTail = sizeof(float) + sizeof(int32_t);

size_t CodeSize(size_t dimension) { return dimension + kCodeTail; }

float CodeScale(const int8_t* code, size_t dimension) {
  float scale;
  std::memcpy(&scale, code + dimension, sizeof(scale));
  return scale;
}

int32_t CodeSum(const int8_t* code, size_t dimension) {
  int32_t sum;
  std::memcpy(&sum, code + dimension + sizeof(float), sizeof(sum));
  return sum;
}

// `vector` quantized into `code` (CodeSize(n) bytes): its largest component becomes ±127, and the scale makes
// the code's own norm exactly 1 (so a vector is its own nearest neighbour at similarity 1); a zero vector gets
// scale 0.
void Encode(const float* vector, size_t n, int8_t* code) {
  float largest = 0;
  for (size_t i = 0; i < n; ++i) largest = std::max(largest, std::fabs(vector[i]));
  int32_t sum = 0;
  int64_t squares = 0;
  for (size_t i = 0; i < n; ++i) {
    const long q = largest > 0 ? std::lround(static_cast<double>(vector[i]) * 127.0 / largest) : 0;
    code[i] = static_cast<int8_t>(std::clamp<long>(q, -127, 127));
    sum += code[i];
    squares += int64_t{code[i]} * code[i];
  }
  const float scale = squares > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(squares))) : 0.0f;
  std::memcpy(code + n, &scale, sizeof(scale));
  std::memcpy(code + n + sizeof(float), &sum, sizeof(sum));
}

void Decode(const int8_t* code, size_t n, float* vector) {
  const float scale = CodeScale(code, n);
  for (size_t i = 0; i < n; ++i) vector[i] = code[i] * scale;
}

int32_t DotPortable(const int8_t* a, const int8_t* b, size_t n) {
  int32_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += int32_t{a[i]} * int32_t{b[i]};
  return sum;
}

#ifdef DESKPIPE_X86_KERNELS
__attribute__((target("avx2"))) int32_t DotAvx2(const int8_t* a, const int8_t* b, size_t n) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i sums = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    // |a| (unsigned) times b with a's sign: pairs sum to at most 2·127·127, inside int16 (codes avoid -128).
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(va, va), _mm256_sign_epi8(vb, va));
    sums = _mm256_add_epi32(sums, _mm256_madd_epi16(pairs, ones));
  }
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sums);
  int32_t sum = 0;
  for (int32_t lane : lanes) sum += lane;
  return sum + DotPortable(a + i, b + i, n - i);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) int32_t DotAvx512Vnni(const int8_t* a, const int8_t* b,
                                                                          size_t n) {
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));  // a XOR 0x80 = a + 128, as unsigned
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    s0 = _mm512_dpbusd_epi32(s0, _mm512_xor_si512(_mm512_loadu_si512(a + i), bias), _mm512_loadu_si512(b + i));
    s1 = _mm512_dpbusd_epi32(s1, _mm512_xor_si512(_mm512_loadu_si512(a + i + 64), bias),
                             _mm512_loadu_si512(b + i + 64));
  }
  for (; i < n; i += 64) {
    // The tail is zero in b, so whatever a's lanes hold there adds nothing.
    const __mmask64 mask = n - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - i)) - 1;
    s0 = _mm512_dpbusd_epi32(s0, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, a + i), bias),
                             _mm512_maskz_loadu_epi8(mask, b + i));
  }
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, _mm512_add_epi32(s0, s1));
  int32_t sum = 0;
  for (int32_t lane : lanes) sum += lane;
  return sum - 128 * CodeSum(b, n);
}
#endif

using DotKernel = int32_t (*)(const int8_t*, const int8_t*, size_t);

struct KernelChoice {
  DotKernel kernel;
  const char* name;
};

// Every kernel this CPU can run, fastest first.
std::vector<KernelChoice> SupportedKernels() {
  std::vector<KernelChoice> kernels;
#ifdef DESKPIPE_X86_KERNELS
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0).
  if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni")) {
    kernels.push_back({&DotAvx512Vnni, "avx512-vnni (int8)"});
  }
  if (__builtin_cpu_supports("avx2")) kernels.push_back({&DotAvx2, "avx2 (int8)"});
#endif
  kernels.push_back({&DotPortable, "portable (int8)"});
  return kernels;
}

const KernelChoice& Kernel() {
  static const KernelChoice choice = SupportedKernels().front();
  return choice;
}

// The cosine similarity of two codes of `dimension` components.
float CodeSimilarity(const int8_t* a, const int8_t* b, size_t dimension) {
  return static_cast<float>(Kernel().kernel(a, b, dimension)) * CodeScale(a, dimension) * CodeScale(b, dimension);
}

// The signature usearch calls for a stateless metric with a length argument (all arguments pointer-sized);
// usearch's "dimensions" are the code's bytes.
us::distance_punned_t UnitCosineDistance(size_t a, size_t b, size_t code_size) {
  return 1.0f - CodeSimilarity(reinterpret_cast<const int8_t*>(a), reinterpret_cast<const int8_t*>(b),
                               code_size - kCodeTail);
}

// Inner product over int8 codes: the file says so (ip, i8, dimension + 8), so an older file (float16 or
// float32 vectors) is recognized and rebuilt. Other usearch readers would not know the code's tail.
constexpr us::metric_kind_t kMetricKind = us::metric_kind_t::ip_k;
constexpr us::scalar_kind_t kScalarKind = us::scalar_kind_t::i8_k;

us::metric_punned_t UnitCosineMetric(size_t dimension) {
  return us::metric_punned_t::stateless(CodeSize(dimension), reinterpret_cast<std::uintptr_t>(&UnitCosineDistance),
                                        us::metric_punned_signature_t::array_array_size_k, kMetricKind,
                                        kScalarKind);
}

}  // namespace

const char* VectorIndex::KernelName() { return Kernel().name; }

std::vector<std::pair<std::string, float>> VectorIndex::SimilarityByEveryKernel(const std::vector<float>& a,
                                                                               const std::vector<float>& b) {
  const size_t n = std::min(a.size(), b.size());
  std::vector<int8_t> code_a(CodeSize(n)), code_b(CodeSize(n));
  Encode(a.data(), n, code_a.data());
  Encode(b.data(), n, code_b.data());
  std::vector<std::pair<std::string, float>> scores;
  for (const KernelChoice& kernel : SupportedKernels()) {
    scores.emplace_back(kernel.name, static_cast<float>(kernel.kernel(code_a.data(), code_b.data(), n)) *
                                         CodeScale(code_a.data(), n) * CodeScale(code_b.data(), n));
  }
  return scores;
}

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
  return Open(path, dimension, params, /*view=*/false);
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::OpenView(const std::string& path, int dimension,
                                                           const Params& params) {
  if (path.empty()) return Error(InvalidArgument("a vector index view needs a file"));
  return Open(path, dimension, params, /*view=*/true);
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::Open(const std::string& path, int dimension,
                                                       const Params& params, bool view) {
  if (dimension <= 0) return Error(InvalidArgument("vector index dimension must be positive"));
  if (params.connectivity < 2 || params.expansion_add == 0 || params.expansion_search == 0) {
    return Error(InvalidArgument("vector index needs connectivity ≥ 2 and positive expansions"));
  }
  try {
    auto impl = std::make_unique<Impl>();
    std::error_code ec;
    const us::metric_punned_t metric = UnitCosineMetric(static_cast<size_t>(dimension));
    if (view || (!path.empty() && std::filesystem::exists(path, ec))) {
      auto loaded = DenseIndex::make(path.c_str(), view);
      if (!loaded) return Error(FromUsearch(loaded.error, "cannot load vector index " + path));
      impl->index = std::move(loaded.index);
      if (impl->index.metric_kind() != kMetricKind || impl->index.scalar_kind() != kScalarKind) {
        return Error(Internal("vector index " + path + " has an older format (not int8 codes); "
                              "rebuild it from SQL"));
      }
      if (impl->index.dimensions() != CodeSize(static_cast<size_t>(dimension))) {
        return Error(Internal("vector index " + path + " has dimension " +
                              std::to_string(impl->index.dimensions() - std::min(impl->index.dimensions(), kCodeTail)) +
                              ", expected " + std::to_string(dimension)));
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
    index->read_only_ = view;
    if (!view) RETURN_IF_ERROR(index->EnsureCapacity(std::max(kInitialCapacity, index->size())));
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

Result<void> VectorIndex::AddBatch(const std::vector<std::pair<int64_t, const std::vector<float>*>>& items,
                                   size_t max_threads) {
  for (const auto& [key, vector] : items) {
    if (vector == nullptr || vector->size() != static_cast<size_t>(dimension_)) {
      return Error(InvalidArgument("vector for key " + std::to_string(key) + " has " +
                                   std::to_string(vector ? vector->size() : 0) + " dimensions, index has " +
                                   std::to_string(dimension_)));
    }
  }
  if (items.empty()) return {};
  if (read_only_) return Error(Internal("vector index " + path_ + " is a read-only view"));
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

    const size_t thread_limit = max_threads == 0 ? WorkerCount() : std::min(max_threads, WorkerCount());
    const size_t workers = std::min(thread_limit, std::max<size_t>(1, unique.size() / kMinAddsPerWorker));
    std::atomic<size_t> next{0};
    std::mutex error_mutex;
    Status first_error;
    // Each worker passes its own thread id, so usearch gives it its own search context (concurrent adds).
    const size_t dimension = static_cast<size_t>(dimension_);
    auto work = [&](size_t thread) {
      std::vector<int8_t> code(CodeSize(dimension));
      while (true) {
        const size_t i = next.fetch_add(1);
        if (i >= unique.size()) return;
        Status failed;
        try {
          Encode(unique[i].second, dimension, code.data());
          auto added = index.add(unique[i].first, code.data(), thread);
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
  if (read_only_) return Error(Internal("vector index " + path_ + " is a read-only view"));
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
  const size_t dimension = static_cast<size_t>(dimension_);
  std::vector<int8_t> code(CodeSize(dimension));
  try {
    // An int8 get from an int8 index copies the code as stored.
    if (impl_->index.get(static_cast<DenseIndex::vector_key_t>(key), code.data()) == 0) return {};
  } catch (const std::exception&) {
    return {};
  }
  std::vector<float> vector(dimension);
  Decode(code.data(), dimension, vector.data());
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
    std::vector<int8_t> code(CodeSize(query.size()));
    Encode(query.data(), query.size(), code.data());
    // usearch reads the search expansion from its config: set it for this call (calls are serialized).
    index.change_expansion_search(expansion > 0 ? expansion : params_.expansion_search);
    auto result = filter ? index.filtered_search(code.data(), static_cast<size_t>(k),
                                                 [&filter](DenseIndex::vector_key_t key) {
                                                   return filter(static_cast<int64_t>(key));
                                                 })
                         : index.search(code.data(), static_cast<size_t>(k));
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
    // The query encoded like the stored vectors, so scores match the graph search's.
    std::vector<int8_t> query_code(CodeSize(dimension)), stored(CodeSize(dimension));
    Encode(query.data(), dimension, query_code.data());
    hits.reserve(keys.size());
    for (int64_t key : keys) {
      if (impl_->index.get(static_cast<DenseIndex::vector_key_t>(key), stored.data()) == 0) continue;
      hits.emplace_back(key, CodeSimilarity(query_code.data(), stored.data(), dimension));
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

Result<void> VectorIndex::Save() { return SaveAs(path_); }

Result<void> VectorIndex::SaveAs(const std::string& path) {
  if (path.empty() || read_only_) return {};
  const std::string temp = path + ".tmp";
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
  std::filesystem::rename(temp, path, ec);
  if (ec) return Error(Internal("cannot rename " + temp + " to " + path + ": " + ec.message()));
  return {};
}

void VectorIndex::Clear() { impl_->index.clear(); }

}  // namespace deskpipe
