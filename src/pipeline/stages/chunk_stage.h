// The chunk stage: a batch's documents, less those the store already holds unchanged, cut into chunks sized
// for the embedder (transforms/chunker.h). An unchanged document (same stored hash) is neither re-chunked nor
// re-embedded nor rewritten.
//
// Input: documents with their final content hashes (summaries included). Output: the changed documents,
// chunked, and how many were unchanged.
// Thread-safety: a function of its arguments (the lookup must be safe to call from the calling thread).
// Lifetime: nothing is kept.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/record.h"
#include "core/status.h"
#include "transforms/chunker.h"

namespace deskpipe::stages {

// The store's content hashes of the given document ids (absent ⇒ not stored).
using StoredHashLookup =
    std::function<Result<std::unordered_map<std::string, std::string>>(const std::vector<std::string>&)>;

struct ChunkedDocuments {
  std::vector<Document> changed;  // new or changed, with their chunks, in their input order
  int64_t unchanged = 0;
};

// Only a failing lookup is an error.
Result<ChunkedDocuments> ChunkChangedDocuments(std::vector<Document> documents, const StoredHashLookup& stored_hashes,
                                               const transforms::ChunkerOptions& options,
                                               const transforms::TokenCounter& count_tokens);

}  // namespace deskpipe::stages
