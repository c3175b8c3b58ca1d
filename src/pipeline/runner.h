// The runner: drives a Source stream by stream through the transforms, extraction, chunking, the embedder and
// the store, and owns what happens on errors (DESIGN §1).
//
// Shape (issue 8): three kinds of threads joined by bounded queues, so a slow stage applies back-pressure and
// memory stays flat:
//   fetch    one thread: Source::Next, stream after stream (the Source is not thread-safe). Network waits
//            happen here only, never on a CPU worker. It runs ahead of the store by a window bounded in
//            batches and in bytes, and hands a batch much heavier than its stream's usual ones on in parts
//            (whole threads each; only the last part carries the cursor).
//   cpu      a pool sized to the cores: transform (HTML → text) → extract (attachments) → build documents →
//            chunk → embed (with the embedding cache), one batch per task; batches run side by side.
//   store    the calling thread: commits finished batches strictly in fetch order, each batch with the cursor
//            that produced it in one transaction, so a cursor is never saved before its data and a crash at
//            any point loses nothing (a replay duplicates nothing: every write is an upsert by id).
// Store access from several threads (cache lookups, commits, cursors) is serialized by one mutex.
//
// Stop (RunnerOptions::stop set, e.g. by SIGINT): no new batch is fetched or started; batches already being
// transformed/embedded finish and commit in order; the run returns with RunSummary::stopped. A fetch stuck in
// the network is not waited for longer than `fetch_grace`: its batch is dropped (its cursor was never saved).
//
// Thread-safety: Run() once, from one thread. The source, embedder and store must outlive the runner; if
// Run() reports fetch_abandoned the source (and its HTTP client) must also outlive the process's remaining
// work (app::App::Sync keeps them alive).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/status.h"
#include "embed/embedder.h"
#include "pipeline/progress.h"
#include "platforms/platform.h"
#include "store/store.h"

namespace deskpipe {

class Summarizer;

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

struct RunnerOptions {
  int chunk_max_tokens = 0;    // 0 ⇒ the embedder's max_tokens
  int chunk_overlap_tokens = 16;
  int embed_batch_size = 64;
  std::vector<std::string> streams;  // empty ⇒ every stream of the source
  int cpu_workers = 0;               // 0 ⇒ std::thread::hardware_concurrency()
  int queue_capacity = 0;            // fetched batches waiting for a CPU worker; 0 ⇒ cpu_workers
  bool embedder_thread_safe = false;  // false ⇒ Embed() calls are serialized by a mutex
  // Every stream from its start, with nothing stored known to the source: a mode switch's records backfill.
  bool reread_everything = false;
  // Set (from any thread or a signal handler) to stop gracefully; may be null.
  const std::atomic<bool>* stop = nullptr;
  std::chrono::milliseconds fetch_grace{3000};
  // Extract attachment text (needs the deskpipe-extract-worker binary when a record has attachments).
  bool extract_attachments = true;
  // ENABLE_SQL_PROGRESS_LOGS: the progress snapshot is saved on the run record after a commit at most this
  // often.
  std::chrono::milliseconds progress_save_interval{2000};
  // Live progress; kNone by default (the CLI asks for kAuto).
  ProgressDisplay::Options display = {.mode = ProgressDisplay::Mode::kNone};
  // Called on the store thread after each committed batch, holding the store lock (it may read the store);
  // may be empty.
  std::function<void(const std::string& stream, const StreamSummary&)> on_batch;
  // app::App::Sync / RetryFailed: wait for another writer of the tenant to finish instead of failing with kBusy.
  bool wait_for_lock = false;
};

class Runner {
 public:
  Runner(const Config& config, Source& source, Embedder& embedder, Store& store, RunnerOptions options = {});
  ~Runner();

  // Syncs every stream once. Config errors (InvalidArgument, Unauthenticated, PermissionDenied on the
  // account) and internal errors stop the run and are returned (batches committed before stay committed); a
  // stream answering 403 is skipped and reported; bad records become dead letters.
  Result<RunSummary> Run();

  const ProgressTracker& progress() const { return *progress_; }

 private:
  struct Shared;
  struct WorkItem;

  void FetchLoop(std::shared_ptr<Shared> shared);
  void CpuWorker();
  Result<void> ProcessBatch(WorkItem& item);
  void ExtractAttachmentText(std::vector<Record>& records, WorkItem& item);
  Result<void> EmbedChunks(std::vector<Document>& documents, WorkItem& item);
  Result<void> CommitItem(WorkItem& item, RunSummary& summary);

  const Config& config_;
  Source& source_;
  Embedder& embedder_;
  Store& store_;
  RunnerOptions options_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<ProgressTracker> progress_;
  std::unique_ptr<Summarizer> summarizer_;  // LLM thread summaries; null when off (see summarizer.h)
};

// Sets what `options` schedule by from the embedder's declared capabilities: embedder_thread_safe, an
// embed_batch_size no larger than its preferred batch, and its concurrent calls (one per CPU worker).
void ApplyEmbedderCapabilities(Embedder& embedder, RunnerOptions& options);


}  // namespace deskpipe
