// The runner: drives a Source stream by stream, batch by batch, through the transforms, the embedder and the
// store, and owns what happens on errors (DESIGN §1). Each batch's records, documents, vectors and the cursor
// that produced it are committed as one step, so a crash at any point loses nothing and a replay duplicates
// nothing. This first version runs the stages in sequence on the calling thread; the concurrent, bounded
// version (issue 8) keeps this interface.
// Not thread-safe. The source, embedder and store must outlive the runner.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/status.h"
#include "embed/embedder.h"
#include "platforms/platform.h"
#include "store/store.h"

namespace deskpipe {

struct StreamSummary {
  int64_t batches = 0;
  int64_t records = 0;
  int64_t rejected = 0;  // records the source or a transform refused (dead letters)
  bool skipped = false;  // the stream is not available to this account (403)
  std::string skip_reason;
};

struct RunSummary {
  std::map<std::string, StreamSummary> streams;
  int64_t documents_written = 0;    // new or changed documents
  int64_t documents_unchanged = 0;  // same content hash as stored: not re-chunked, not re-embedded
  int64_t chunks_written = 0;
  int64_t chunks_embedded = 0;  // vectors computed by the embedder in this run
  int64_t chunks_cached = 0;    // vectors found in the embedding cache
  int64_t dead_letters = 0;
  double seconds = 0;

  nlohmann::json ToJson() const;
};

struct RunnerOptions {
  int chunk_max_tokens = 0;    // 0 ⇒ the embedder's max_tokens
  int chunk_overlap_tokens = 16;
  int embed_batch_size = 64;
  std::vector<std::string> streams;  // empty ⇒ every stream of the source
  // Called after each committed batch (progress display); may be empty.
  std::function<void(const std::string& stream, const StreamSummary&)> on_batch;
};

class Runner {
 public:
  Runner(const Config& config, Source& source, Embedder& embedder, Store& store, RunnerOptions options = {});

  // Syncs every stream once. Config errors (InvalidArgument, Unauthenticated, PermissionDenied on the
  // account) and internal errors stop the run and are returned; a stream answering 403 is skipped and
  // reported; bad records become dead letters.
  Result<RunSummary> Run();

 private:
  Result<void> SyncStream(const std::string& stream, RunSummary& summary);
  Result<void> ProcessBatch(Batch& batch, RunSummary& summary, StreamSummary& stream_summary);
  Result<void> EmbedChunks(std::vector<Document>& documents, RunSummary& summary);

  const Config& config_;
  Source& source_;
  Embedder& embedder_;
  Store& store_;
  RunnerOptions options_;
};

// Builds the HTTP client, source, embedder and store that `config` names and runs one sync.
// `options` as for Runner.
Result<RunSummary> RunSync(const Config& config, RunnerOptions options = {});

// Opens the store that `config` names, sized for its embedder (for search, status, digest).
Result<std::unique_ptr<Store>> OpenConfiguredStore(const Config& config, const Embedder& embedder);

}  // namespace deskpipe
