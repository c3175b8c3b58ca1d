// The commit stage, last of a batch's stages: the batch's write — records, documents with their chunks and
// vectors, removals, dead letters and the cursor — in one store transaction, then its counts into the run's
// summary. The runner calls it on its store thread, strictly in fetch order.
//
// Input: a ProcessedBatch (what the stages before made of one fetched batch). Output: the store holds it, and
// `summary` counts it.
// Thread-safety: every Store call holds `store_mutex`, shared with the other threads of the run. Lifetime:
// the store and the mutex must outlive the stage.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "core/status.h"
#include "pipeline/run_summary.h"
#include "store/store.h"

namespace deskpipe::stages {

// One batch, processed and ready to commit, with the counts the run summary takes from it.
struct ProcessedBatch {
  BatchWrite write;
  int64_t records = 0;  // records that went through the transform stage
  int64_t documents_written = 0;
  int64_t documents_unchanged = 0;
  int64_t chunks_written = 0;
  int64_t chunks_embedded = 0;
  int64_t chunks_cached = 0;
  int64_t attachments_extracted = 0;
};

class CommitStage {
 public:
  // `model_id`: the embedder's, the key of the vectors written.
  CommitStage(Store& store, std::mutex& store_mutex, std::string model_id);

  // Commits `batch`, logs its dead letters and adds it to `summary`; returns its stream's summary so far.
  Result<const StreamSummary*> Run(const ProcessedBatch& batch, RunSummary& summary);

 private:
  Store& store_;
  std::mutex& store_mutex_;
  const std::string model_id_;
};

}  // namespace deskpipe::stages
