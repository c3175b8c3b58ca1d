// The runner: drives a Source stream by stream through the stages (pipeline/stages/: transform → extract →
// document → summarize → chunk → embed → commit) and owns what happens on errors (DESIGN §1). It only
// schedules: what each stage does is in its own file.
//
// Shape: four kinds of threads joined by queues, so a slow stage applies back-pressure and memory stays flat:
//   fetch    one thread: Source::Next, stream after stream (the Source is not thread-safe). It runs ahead of
//            the store by a window bounded in batches and in bytes, and hands a batch much heavier than its
//            stream's usual ones on in parts (whole threads each; only the last part carries the cursor).
//   cpu      a pool sized to the cores (cpu_workers): transform, extract, document, chunk, and embed when the
//            embedder computes locally. Never waits on the network.
//   io       a small pool (io_workers), started only when a stage is network-bound: summarize (LLM summaries)
//            and embed when the embedder is remote (EmbedderCapabilities::network_bound). A batch goes back
//            and forth between the pools in stage order; either pool takes the oldest batch waiting first.
//   store    the calling thread: the commit stage, strictly in fetch order, each batch with the cursor that
//            produced it in one transaction, so a cursor is never saved before its data and a crash at any
//            point loses nothing (a replay duplicates nothing: every write is an upsert by id).
// The fetch window (batches fetched and not yet committed) bounds every queue at once; hand-offs between the
// pools never block, so the pools cannot wait on each other. Store access from several threads (cache
// lookups, commits, cursors) is serialized by one mutex.
//
// Stop (RunnerOptions::stop set, e.g. by SIGINT): no new batch is fetched or started; batches already started
// finish and commit in order; the run returns with RunSummary::stopped. A fetch stuck in the network is not
// waited for longer than `fetch_grace`: its batch is dropped (its cursor was never saved).
//
// Thread-safety: Run() once, from one thread. The source, embedder and store must outlive the runner; if
// Run() reports fetch_abandoned the source (and its HTTP client) must also outlive the process's remaining
// work (app::App::Sync keeps them alive).
// Folder: pipeline/ may include core/, net/, transforms/, extract/, embed/, store/ and platforms/, never app/ or cli/
// (docs/ARCHITECTURE.md).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/status.h"
#include "embed/embedder.h"
#include "pipeline/progress.h"
#include "pipeline/run_summary.h"
#include "platforms/platform.h"
#include "store/store.h"

namespace deskpipe {

namespace stages {
class ExtractStage;
class SummarizeStage;
class EmbedStage;
class CommitStage;
}  // namespace stages

struct RunnerOptions {
  int chunk_max_tokens = 0;    // 0 ⇒ the embedder's max_tokens
  int chunk_overlap_tokens = 16;
  int embed_batch_size = 64;
  std::vector<std::string> streams;  // empty ⇒ every stream of the source
  int cpu_workers = 0;               // 0 ⇒ std::thread::hardware_concurrency()
  // Threads for the network-bound stages (summaries, a remote embedder); 0 ⇒ as many as cpu_workers, the
  // network concurrency these stages had when they ran on the CPU workers.
  int io_workers = 0;
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
  // Shown the run's progress while it runs (the CLI's display); may be null.
  std::shared_ptr<ProgressWatcher> progress_watcher;
  // Called on the store thread after each committed batch, holding the store lock (it may read the store);
  // may be empty.
  std::function<void(const std::string& stream, const StreamSummary&)> on_batch;
  // app::App::Sync / RetryFailed: wait for another writer of the tenant to finish instead of failing with kBusy.
  bool wait_for_lock = false;
  // The service's job claim every batch commit is checked against (store.h); nullopt for the CLI.
  std::optional<CommitFence> commit_fence;
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
  enum class Lane { kCpu, kIo };
  // One step of a batch's way to the store: one or more stages run back to back on one lane.
  struct Step {
    Lane lane;
    Result<void> (Runner::*run)(WorkItem& item);
    std::optional<Stage> through;  // the progress stage a batch is through after this step, if any
  };

  void FetchLoop(std::shared_ptr<Shared> shared);
  void LaneWorker(Lane lane);
  Result<void> PrepareDocuments(WorkItem& item);  // transform, extract, document
  Result<void> Summarize(WorkItem& item);
  Result<void> Chunk(WorkItem& item);
  Result<void> Embed(WorkItem& item);
  void CompleteWrite(WorkItem& item);  // the batch's write, once its last step ran
  Result<void> Commit(WorkItem& item, RunSummary& summary);  // on the store thread, in fetch order

  const Config& config_;
  Source& source_;
  Embedder& embedder_;
  Store& store_;
  RunnerOptions options_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<ProgressTracker> progress_;
  std::vector<Step> steps_;  // this run's stages in order, each on its lane
  int io_workers_ = 0;       // I/O threads of this run: 0 when no step is network-bound
  // Whether the store keeps record tables (StoreOptions::WritesRecords): otherwise records are dropped as
  // soon as their documents are built.
  bool writes_records_ = true;
  std::unique_ptr<stages::ExtractStage> extract_;
  std::unique_ptr<stages::SummarizeStage> summarize_;  // null when summaries are off
  std::unique_ptr<stages::EmbedStage> embed_;
  std::unique_ptr<stages::CommitStage> commit_;
};

// Sets what `options` schedule by from the embedder's declared capabilities: embedder_thread_safe, an
// embed_batch_size no larger than its preferred batch, and its concurrent calls (one per worker of the pool
// its calls run on: the I/O pool for a network-bound embedder, else the CPU pool).
void ApplyEmbedderCapabilities(Embedder& embedder, RunnerOptions& options);


}  // namespace deskpipe
