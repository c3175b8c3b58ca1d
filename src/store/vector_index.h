// A usearch HNSW index (cosine similarity) keyed by int64 — the chunk's SQLite rowid — persisted in one file.
// The file is a cache: SQL holds every vector (the `embeddings` table), so the store can always rebuild it.
// Vectors are kept scaled to unit length in float16, so cosine is an inner product over half the bytes (memory
// traffic bounds HNSW at 512-d); the kernel is picked once for the CPU (AVX-512F, AVX2+FMA+F16C, else portable
// code) because usearch's own portable kernel is not vectorized and dominated every add and search. A file of
// the older format (raw float32, cosine) fails to open, so the store rebuilds it from SQL.
// Thread-safety: not thread-safe; the owning store serializes calls (AddBatch spreads one call's adds over
// worker threads internally). Lifetime: Open() → use → Save() → destroy (the destructor does not save).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace deskpipe {

class VectorIndex {
 public:
  // HNSW graph parameters. The defaults, measured by bench_store at 100,000 real-text 512-d vectors: recall@10
  // ≈ 0.985 at ~1.7 ms CPU per search; halving expansion_add speeds inserts ~1.5× but costs ~3 points of recall.
  struct Params {
    size_t connectivity = 16;       // edges per node (M; 2M on the base layer); more raises recall and build cost
    size_t expansion_add = 128;     // candidate list while inserting (efConstruction)
    size_t expansion_search = 256;  // candidate list while searching (ef); raised to k when k is larger
  };

  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Opens the index stored at `path` (loads it when the file exists, else starts empty). An empty `path`
  // makes an in-memory index whose Save() is a no-op. A file of another dimension or a corrupt file is an
  // error (kInternal); the caller may delete it and rebuild. A loaded file keeps the connectivity it was built
  // with; the expansions come from `params`.
  static Result<std::unique_ptr<VectorIndex>> Open(const std::string& path, int dimension);
  static Result<std::unique_ptr<VectorIndex>> Open(const std::string& path, int dimension, const Params& params);

  // Adds `vector` (dimension() floats) under `key`, replacing any vector the key had.
  Result<void> Add(int64_t key, const std::vector<float>& vector);
  // Adds many (key, vector) pairs, replacing vectors the keys had; a key given twice keeps its last vector.
  // The graph insertions run on up to hardware_concurrency() threads. Validates every vector first: on an
  // invalid one nothing is added.
  Result<void> AddBatch(const std::vector<std::pair<int64_t, const std::vector<float>*>>& items);
  // Removes `key`; removing an absent key is not an error.
  Result<void> Remove(int64_t key);
  bool Contains(int64_t key) const;
  // The stored vector of `key` as the index keeps it (unit length, float16 precision); empty when absent.
  std::vector<float> Get(int64_t key) const;
  // Every key in the index, ascending.
  std::vector<int64_t> Keys() const;
  // Grows the capacity to at least `vectors` (adds grow it geometrically anyway; this avoids the copies).
  Result<void> Reserve(size_t vectors);

  // Up to `k` nearest keys with their cosine similarity, best first (a zero vector has similarity 0 to all). When `filter` is set,
  // only keys it accepts are returned (applied inside the graph search, not after it). `expansion` > 0
  // overrides Params::expansion_search for this call (a selective filter needs a wider search).
  Result<std::vector<std::pair<int64_t, float>>> Search(const std::vector<float>& query, int k,
                                                        const std::function<bool(int64_t)>& filter = {},
                                                        size_t expansion = 0) const;

  // The `k` keys among `keys` nearest to `query`, by an exact scan of exactly those vectors (for filters so
  // selective that the graph would have to wander far); absent keys are skipped. Same scores as Search().
  Result<std::vector<std::pair<int64_t, float>>> ExactSearch(const std::vector<float>& query, int k,
                                                             const std::vector<int64_t>& keys) const;

  size_t size() const;
  int dimension() const { return dimension_; }
  const std::string& path() const { return path_; }
  const Params& params() const { return params_; }
  // The distance kernel this CPU uses, e.g. "avx512f (f16)".
  static const char* KernelName();

  // Writes the index to `path` atomically (temp file + rename).
  Result<void> Save();
  // Removes every vector.
  void Clear();

 private:
  struct Impl;
  VectorIndex(std::string path, int dimension, Params params, std::unique_ptr<Impl> impl);
  Result<void> EnsureCapacity(size_t vectors);

  std::string path_;
  int dimension_;
  Params params_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpipe
