// A usearch HNSW index (cosine similarity) keyed by int64 — the chunk's SQLite rowid — persisted in one file.
// The file is a cache: SQL holds every vector (the embedding cache), so the store can always rebuild it.
// Vectors are kept as int8 codes (unit length, each vector with its own scale; see vector_index.cc): a
// quarter of float32's bytes, because memory traffic bounds HNSW at 512-d. Scores are therefore approximate
// (±0.002); the store re-ranks the candidates by their stored float vectors. The kernel is picked once for
// the CPU (AVX-512 VNNI, AVX2, else portable code), and all give the same integer dot product. A file of an
// older format (float16 or float32 vectors) fails to open, so the store rebuilds it from SQL.
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
  // HNSW graph parameters. The defaults, measured by bench_store at 100,000 real-text 512-d vectors (store
  // re-ranking included): recall@10 ≈ 0.987 at ~2 ms per search, ~11,000 upserts/s. A cheap graph and a wide
  // search: expansion_add 128 / search 256 gave the same recall at 2/3 of the upsert rate; 64 / 512 loses a point.
  struct Params {
    size_t connectivity = 16;       // edges per node (M; 2M on the base layer); more raises recall and build cost
    size_t expansion_add = 80;      // candidate list while inserting (efConstruction)
    size_t expansion_search = 512;  // candidate list while searching (ef); raised to k when k is larger
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
  // Maps the file at `path` read-only (pages are read as searches touch them; the file must stay): searches,
  // Get() and Keys() work, changes fail, Save() does nothing.
  static Result<std::unique_ptr<VectorIndex>> OpenView(const std::string& path, int dimension,
                                                       const Params& params);

  // Adds `vector` (dimension() floats) under `key`, replacing any vector the key had.
  Result<void> Add(int64_t key, const std::vector<float>& vector);
  // Adds many (key, vector) pairs, replacing vectors the keys had; a key given twice keeps its last vector.
  // The graph insertions run on up to `max_threads` threads (0: hardware_concurrency()). Validates every
  // vector first: on an invalid one nothing is added.
  Result<void> AddBatch(const std::vector<std::pair<int64_t, const std::vector<float>*>>& items,
                        size_t max_threads = 0);
  // Removes `key`; removing an absent key is not an error.
  Result<void> Remove(int64_t key);
  bool Contains(int64_t key) const;
  // The stored vector of `key` as the index keeps it (unit length, float16 precision); empty when absent.
  std::vector<float> Get(int64_t key) const;
  // Every key in the index, ascending.
  std::vector<int64_t> Keys() const;
  // Grows the capacity to at least `vectors` (adds grow it geometrically anyway; this avoids the copies).
  Result<void> Reserve(size_t vectors);

  // Up to `k` nearest keys with their cosine similarity, best first (a zero vector has similarity 0 to all).
  // When `filter` is set, only keys it accepts are returned (applied inside the graph search, not after it).
  // `expansion` > 0 overrides Params::expansion_search for this call (a selective filter needs a wider search).
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
  // For tests: the similarity of `a` and `b` (encoded as the index stores them) by every kernel this CPU can
  // run, named — the search uses only the first, so the others would otherwise go untested here.
  static std::vector<std::pair<std::string, float>> SimilarityByEveryKernel(const std::vector<float>& a,
                                                                            const std::vector<float>& b);

  // Writes the index to path() (or `path`) atomically (temp file + rename).
  Result<void> Save();
  Result<void> SaveAs(const std::string& path);
  bool read_only() const { return read_only_; }
  // Removes every vector.
  void Clear();

 private:
  struct Impl;
  VectorIndex(std::string path, int dimension, Params params, std::unique_ptr<Impl> impl);
  static Result<std::unique_ptr<VectorIndex>> Open(const std::string& path, int dimension, const Params& params,
                                                   bool view);
  Result<void> EnsureCapacity(size_t vectors);

  std::string path_;
  int dimension_;
  Params params_;
  bool read_only_ = false;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpipe
