// A usearch HNSW index (cosine, float32) keyed by int64 — the chunk's SQLite rowid — persisted in one file.
// The file is a cache: SQL holds every vector (the `embeddings` table), so the store can always rebuild it.
// Thread-safety: not thread-safe; the owning store serializes calls. Lifetime: Open() → use → Save() →
// destroy (the destructor does not save).
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
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Opens the index stored at `path` (loads it when the file exists, else starts empty). An empty `path`
  // makes an in-memory index whose Save() is a no-op. A file of another dimension or a corrupt file is an
  // error (kInternal); the caller may delete it and rebuild.
  static Result<std::unique_ptr<VectorIndex>> Open(const std::string& path, int dimension);

  // Adds `vector` (dimension() floats) under `key`, replacing any vector the key had.
  Result<void> Add(int64_t key, const std::vector<float>& vector);
  // Removes `key`; removing an absent key is not an error.
  Result<void> Remove(int64_t key);
  bool Contains(int64_t key) const;
  // The stored vector of `key` (as usearch keeps it); empty when absent.
  std::vector<float> Get(int64_t key) const;
  // Every key in the index, ascending.
  std::vector<int64_t> Keys() const;

  // Up to `k` nearest keys with their cosine similarity (1 - distance), best first. When `filter` is set,
  // only keys it accepts are returned (applied inside the graph search, not after it).
  Result<std::vector<std::pair<int64_t, float>>> Search(
      const std::vector<float>& query, int k, const std::function<bool(int64_t)>& filter = {}) const;

  size_t size() const;
  int dimension() const { return dimension_; }
  const std::string& path() const { return path_; }

  // Writes the index to `path` atomically (temp file + rename).
  Result<void> Save();
  // Removes every vector.
  void Clear();

 private:
  struct Impl;
  VectorIndex(std::string path, int dimension, std::unique_ptr<Impl> impl);

  std::string path_;
  int dimension_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpipe
