// What a run did, per stream and in total: the runner's result, filled by the commit stage as batches commit.
// Plain values; not synchronized (the store thread alone writes a run's summary).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace deskpipe {

struct StreamSummary {
  int64_t batches = 0;  // committed, counting each part of a split batch
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
  int64_t attachments_extracted = 0;
  double seconds = 0;
  bool stopped = false;          // a stop was requested: the run ended early after saving its cursors
  bool fetch_abandoned = false;  // the fetch thread was still in the network when the run returned

  nlohmann::json ToJson() const;
};

}  // namespace deskpipe
