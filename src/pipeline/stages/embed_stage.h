// The embed stage: a vector for every chunk of a batch's changed documents, from the embedding cache when the
// store has one for the chunk's text under this model, else from the embedder, each distinct text once.
//
// Where it runs follows the embedder's capabilities: a network-bound embedder (an HTTP API) runs on the
// runner's I/O threads, a local one on its CPU workers; an embedder that is not thread-safe gets its calls
// serialized here.
// Input: chunked documents. Output: the same documents with every chunk's vector, and what was embedded and
// what came from the cache.
// Thread-safety: Run may be called from several threads at once. Lifetime: the embedder and the cache lookup
// must outlive the stage.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/record.h"
#include "core/status.h"
#include "embed/embedder.h"

namespace deskpipe::stages {

class EmbedStage {
 public:
  // The cached vectors of the given chunk content hashes under the embedder's model (absent ⇒ not cached).
  using CacheLookup = std::function<Result<std::unordered_map<std::string, std::vector<float>>>(
      const std::vector<std::string>& content_hashes)>;

  struct Counts {
    int64_t embedded = 0;  // vectors the embedder computed
    int64_t cached = 0;    // chunks whose vector came from the cache
  };

  // `batch_size`: texts per Embed() call (≥ 1). `serialize`: one Embed() call at a time.
  EmbedStage(Embedder& embedder, int batch_size, bool serialize, CacheLookup cached);

  // `on_vectors` (may be empty) hears of vectors as they arrive: first the cached ones, then each call's.
  Result<Counts> Run(std::vector<Document>& documents, const std::function<void(int64_t)>& on_vectors = {});

  // The embedder waits on the network (EmbedderCapabilities::network_bound).
  bool network_bound() const { return network_bound_; }

 private:
  Embedder& embedder_;
  const size_t batch_size_;
  const bool serialize_;
  const bool network_bound_;
  CacheLookup cached_;
  std::mutex serial_;
};

}  // namespace deskpipe::stages
