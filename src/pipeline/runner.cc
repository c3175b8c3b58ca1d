#include "pipeline/runner.h"

#include <malloc.h>

#include <algorithm>
#include <climits>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/log.h"
#include "core/time.h"
#include "pipeline/stages/chunk_stage.h"
#include "pipeline/stages/commit_stage.h"
#include "pipeline/stages/document_stage.h"
#include "pipeline/stages/embed_stage.h"
#include "pipeline/stages/extract_stage.h"
#include "pipeline/stages/summarize_stage.h"
#include "pipeline/stages/transform_stage.h"
#include "pipeline/store_known_records.h"

namespace deskpipe {

namespace {

// The batches waiting for one lane's workers, oldest (lowest seq) first so the commit order is served first.
// Push, from the fetch, blocks while `capacity` batches wait: back-pressure on the fetch. Resume, a hand-off
// from the other lane, never blocks, so the two pools never wait on each other (the fetch window bounds how
// many batches there can be). Close() wakes everyone; pops then drain what is left, then return nothing.
template <typename T>
class LaneQueue {
 public:
  explicit LaneQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  bool Push(T item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    return AddLocked(std::move(item));
  }
  bool Resume(T item) {
    std::lock_guard lock(mutex_);
    return AddLocked(std::move(item));
  }
  std::optional<T> Pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    auto oldest = items_.begin();
    T item = std::move(oldest->second);
    items_.erase(oldest);
    not_full_.notify_one();
    return item;
  }
  void Close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  bool AddLocked(T item) {
    if (closed_) return false;
    const int64_t seq = item.seq;
    items_.emplace(seq, std::move(item));
    not_empty_.notify_one();
    return true;
  }

  const size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::map<int64_t, T> items_;
  bool closed_ = false;
};

}  // namespace

// One fetched batch on its way to the store, with what the stages made of it so far.
struct Runner::WorkItem {
  int64_t seq = 0;     // fetch order; commits follow it
  int64_t weight = 0;  // BatchWeight as fetched, for the fetch's back-pressure
  Batch batch;         // as fetched; the transform stage takes its records
  std::vector<Record> records;          // transformed, with attachment text
  std::vector<Document> documents;      // built, summarized, then only the changed ones, chunked and embedded
  std::vector<Record> summary_records;  // the summaries' records
  stages::ProcessedBatch processed;     // the write and its counts, for the commit stage
  size_t next_step = 0;                 // index in Runner::steps_ of the step it waits for
  int64_t items = 0;     // top-level records after the transform (a ticket with its conversations is one)
  Status error;          // a failure that stops the run
  bool skipped = false;  // not processed: the run was stopping
};

// State shared by the runner's threads. Held by shared_ptr so a fetch thread left in the network after the
// run returned still has a valid queue and flags to find.
struct Runner::Shared {
  explicit Shared(size_t capacity) : cpu(capacity), io(capacity) {}

  LaneQueue<WorkItem> cpu;  // fetched batches, and batches back from the I/O lane
  LaneQueue<WorkItem> io;   // batches waiting for a network-bound stage (never pushed by the fetch)
  std::atomic<bool> cancel{false};    // stop fetching (stop requested, failure, or the run is winding down)
  std::atomic<bool> stopping{false};  // also start no batch not yet started (stop requested or winding down)
  std::atomic<bool> closing{false};   // the store stage is done: skip every batch, started or not
  // The earliest batch that failed: later ones are skipped (they could never commit), earlier ones go on.
  std::atomic<int64_t> failed_seq{INT64_MAX};

  std::mutex mutex;  // guards everything below
  std::condition_variable changed;
  std::map<int64_t, WorkItem> finished;  // processed batches waiting for their turn to commit
  int64_t pushed = 0;                    // batches handed to the CPU stage
  int64_t committed = 0;                 // batches the store stage has taken (in seq order) to commit
  int64_t in_flight_weight = 0;          // the weights of the batches pushed and not yet taken to commit
  bool fetch_done = false;
  Status fetch_error;
  std::map<std::string, std::string> skipped_streams;  // stream → reason (403)

  std::mutex store_mutex;   // serializes every Store call
  Store* store = nullptr;   // null once the run returned (a late fetch thread must not touch it)
  std::unique_ptr<StoreKnownRecords> known;  // the source's view of the store; detached when the run returns
  std::vector<std::thread> workers;  // both lanes
  std::thread fetcher;
};

namespace {

int64_t Count(size_t n) { return static_cast<int64_t>(n); }

// Items: top-level records (a ticket's conversations belong to its item).
int64_t Items(const std::vector<Record>& records) {
  return std::count_if(records.begin(), records.end(), [](const Record& r) { return r.parent_id.empty(); });
}

// The updated_at range of a batch's records (Unix seconds), for the progress ETA; nullopt when none parse.
std::optional<std::pair<int64_t, int64_t>> UpdatedAtRange(const Batch& batch) {
  std::optional<std::pair<int64_t, int64_t>> range;
  for (const Record& record : batch.records) {
    if (record.type == "conversation") continue;  // a thread's messages are older than their ticket
    auto at = ParseTimestamp(record.updated_at);
    if (!at) continue;
    if (!range) {
      range = std::make_pair(*at, *at);
    } else {
      range->first = std::min(range->first, *at);
      range->second = std::max(range->second, *at);
    }
  }
  return range;
}

// What a record holds in memory, roughly: its text and payload, and its attachments' bytes.
int64_t RecordWeight(const Record& record) {
  size_t bytes = record.raw.size() + record.content.size() + record.title.size();
  for (const Attachment& attachment : record.attachments) bytes += attachment.bytes.size();
  return static_cast<int64_t>(bytes);
}

int64_t BatchWeight(const Batch& batch) {
  int64_t weight = 0;
  for (const Record& record : batch.records) weight += RecordWeight(record);
  return weight;
}

// A batch over 1.5 times `usual` weight, in parts of about `usual` weight, each ending where a thread ends
// (before a record without a parent), so the CPU and store stages never hold more than usual at once. Only the
// last part carries the cursor, `done`, removals and rejections: the parts before it commit and leave the
// stream's cursor where it was, so after a crash the batch is read again and what they wrote is found unchanged.
struct BatchPart {
  Batch batch;
  int64_t weight = 0;  // BatchWeight(batch)
};
std::vector<BatchPart> SplitHeavyBatch(Batch batch, int64_t weight, int64_t usual) {
  std::vector<BatchPart> parts;
  if (usual <= 0 || weight <= usual + usual / 2) {
    parts.push_back({std::move(batch), weight});
    return parts;
  }
  BatchPart part;
  for (Record& record : batch.records) {
    if (record.parent_id.empty() && part.weight >= usual) {
      part.batch.stream = batch.stream;
      parts.push_back(std::move(part));
      part = BatchPart();
    }
    part.weight += RecordWeight(record);
    part.batch.records.push_back(std::move(record));
  }
  part.batch.stream = batch.stream;
  part.batch.removed_ids = std::move(batch.removed_ids);
  part.batch.cursor = std::move(batch.cursor);
  part.batch.done = batch.done;
  part.batch.rejected = std::move(batch.rejected);
  parts.push_back(std::move(part));
  return parts;
}

}  // namespace

nlohmann::json RunSummary::ToJson() const {
  nlohmann::json streams_json = nlohmann::json::object();
  for (const auto& [name, s] : streams) {
    nlohmann::json entry = {{"batches", s.batches}, {"records", s.records}, {"rejected", s.rejected}};
    if (s.skipped) entry["skipped"] = s.skip_reason;
    streams_json[name] = std::move(entry);
  }
  return {{"streams", streams_json},
          {"documents_written", documents_written},
          {"documents_unchanged", documents_unchanged},
          {"chunks_written", chunks_written},
          {"chunks_embedded", chunks_embedded},
          {"chunks_cached", chunks_cached},
          {"attachments_extracted", attachments_extracted},
          {"dead_letters", dead_letters},
          {"stopped", stopped},
          {"seconds", seconds}};
}

Runner::Runner(const Config& config, Source& source, Embedder& embedder, Store& store, RunnerOptions options)
    : config_(config),
      source_(source),
      embedder_(embedder),
      store_(store),
      options_(std::move(options)),
      progress_(std::make_shared<ProgressTracker>()) {
  if (options_.chunk_max_tokens <= 0) options_.chunk_max_tokens = embedder_.max_tokens();
  if (options_.cpu_workers <= 0) {
    options_.cpu_workers = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }
  if (options_.queue_capacity <= 0) options_.queue_capacity = options_.cpu_workers;
  if (options_.io_workers <= 0) options_.io_workers = options_.cpu_workers;
}

Runner::~Runner() {
  if (!shared_) return;
  for (std::thread& worker : shared_->workers) {
    if (worker.joinable()) worker.join();
  }
  if (shared_->fetcher.joinable()) shared_->fetcher.detach();
}

Result<RunSummary> Runner::Run() {
  const auto started = std::chrono::steady_clock::now();
  RunSummary summary;
  shared_ = std::make_shared<Shared>(static_cast<size_t>(options_.queue_capacity));
  Shared& run_state = *shared_;
  auto stored_hashes = [this, &run_state](const std::vector<std::string>& ids) {
    std::lock_guard lock(run_state.store_mutex);
    return store_.DocumentHashes(config_.tenant_id, ids);
  };
  ASSIGN_OR_RETURN(summarize_, stages::SummarizeStage::FromConfig(config_, options_.stop, stored_hashes));
  extract_ = std::make_unique<stages::ExtractStage>();
  embed_ = std::make_unique<stages::EmbedStage>(
      embedder_, options_.embed_batch_size, !options_.embedder_thread_safe,
      [this, &run_state](const std::vector<std::string>& hashes) {
        std::lock_guard lock(run_state.store_mutex);
        return store_.CachedEmbeddings(embedder_.model_id(), hashes);
      });
  commit_ = std::make_unique<stages::CommitStage>(store_, run_state.store_mutex, embedder_.model_id());
  writes_records_ = StoreOptionsFor(config_, embedder_.dimension()).WritesRecords();

  // The stages in order, each on the lane that suits it; consecutive steps of one lane run back to back.
  // A batch is through "transform" once its documents are ready (summaries included).
  steps_ = {{Lane::kCpu, &Runner::PrepareDocuments, summarize_ ? std::nullopt : std::optional(Stage::kTransform)}};
  if (summarize_) steps_.push_back({Lane::kIo, &Runner::Summarize, Stage::kTransform});
  steps_.push_back({Lane::kCpu, &Runner::Chunk, Stage::kChunk});
  steps_.push_back({embed_->network_bound() ? Lane::kIo : Lane::kCpu, &Runner::Embed, Stage::kEmbed});
  const bool io_lane = std::any_of(steps_.begin(), steps_.end(), [](const Step& s) { return s.lane == Lane::kIo; });
  io_workers_ = io_lane ? options_.io_workers : 0;

  ASSIGN_OR_RETURN(int64_t run_id, store_.BeginRun(config_.tenant_id));
  shared_->store = &store_;
  // The source diffs against what is stored: removed conversations, the reconciliation sweep, KB tombstones.
  // Re-reading everything, it sees nothing stored, so every record is fetched and written again.
  shared_->known = std::make_unique<StoreKnownRecords>(store_, config_.tenant_id, shared_->store_mutex);
  source_.AttachKnownRecords(options_.reread_everything ? nullptr : shared_->known.get());
  std::shared_ptr<Shared> shared = shared_;

  if (options_.progress_watcher) options_.progress_watcher->RunStarted(*progress_);

  shared->fetcher = std::thread([this, shared] { FetchLoop(shared); });
  for (int i = 0; i < options_.cpu_workers; ++i) shared->workers.emplace_back([this] { LaneWorker(Lane::kCpu); });
  for (int i = 0; i < io_workers_; ++i) shared->workers.emplace_back([this] { LaneWorker(Lane::kIo); });

  // The store stage: commit finished batches in fetch order.
  Status failure;
  int64_t next_seq = 0;
  auto next_progress_save = std::chrono::steady_clock::now();
  auto next_trim = std::chrono::steady_clock::now();
  for (;;) {
    std::optional<WorkItem> item;
    {
      std::unique_lock lock(shared->mutex);
      for (;;) {
        if (options_.stop != nullptr && options_.stop->load() && !shared->stopping.load()) {
          shared->stopping = true;
          shared->cancel = true;
          summary.stopped = true;
          log::Info("stop requested: finishing the batches in hand");
        }
        if (auto it = shared->finished.find(next_seq); it != shared->finished.end()) {
          item = std::move(it->second);
          shared->finished.erase(it);
          break;
        }
        // Everything handed over is committed: done when the fetch is, or when stopping (a fetch still in
        // the network is not waited for; its batch's cursor was never saved).
        if (next_seq == shared->pushed && (shared->fetch_done || shared->cancel.load())) break;
        // Polls: a signal handler cannot notify a condition variable.
        shared->changed.wait_for(lock, std::chrono::milliseconds(100));
      }
    }
    if (!item) break;
    {
      // The fetch waits on this (max_in_flight in FetchLoop).
      std::lock_guard lock(shared->mutex);
      shared->committed = next_seq + 1;
      shared->in_flight_weight -= item->weight;
    }
    shared->changed.notify_all();
    if (item->skipped) {
      summary.stopped = true;
      break;
    }
    if (!item->error.ok()) {
      failure = item->error.WithContext("stream " + item->batch.stream);
      break;
    }
    if (auto committed = Commit(*item, summary); !committed) {
      failure = committed.error().WithContext("stream " + item->batch.stream);
      break;
    }
    if (config_.sql_progress_logs && std::chrono::steady_clock::now() >= next_progress_save) {
      // On the run record, so `deskpipe status` shows a run in flight. A failure here costs only the display.
      std::lock_guard lock(shared->store_mutex);
      if (auto saved = store_.UpdateRunProgress(config_.tenant_id, run_id, progress_->Snapshot()); !saved) {
        log::Warn("progress not saved", {{"error", saved.error().ToString()}});
      }
      next_progress_save = std::chrono::steady_clock::now() + options_.progress_save_interval;
    }
    if (std::chrono::steady_clock::now() >= next_trim) {
      // Batches are allocated on one thread and freed on others, and glibc keeps the freed pages in each
      // thread's arena: over a long sync that grows the resident size, not the heap. Hand them back.
      malloc_trim(0);
      next_trim = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    ++next_seq;
  }

  // Wind down: no more batches start; workers skip what they still hold (it can no longer commit).
  shared->closing = true;
  shared->stopping = true;
  shared->cancel = true;
  shared->cpu.Close();
  shared->io.Close();
  for (std::thread& worker : shared->workers) worker.join();
  shared->workers.clear();
  {
    std::unique_lock lock(shared->mutex);
    shared->changed.wait_for(lock, options_.fetch_grace, [&] { return shared->fetch_done; });
    if (shared->fetch_done) {
      if (failure.ok() && !shared->fetch_error.ok()) failure = shared->fetch_error;
    } else {
      summary.fetch_abandoned = true;
      log::Warn("fetch still waiting on the network; its batch is dropped (its cursor was not saved)");
    }
    for (const auto& [stream, reason] : shared->skipped_streams) {
      summary.streams[stream].skipped = true;
      summary.streams[stream].skip_reason = reason;
    }
  }
  if (summary.fetch_abandoned) {
    shared->fetcher.detach();
  } else {
    shared->fetcher.join();
  }
  {
    std::lock_guard lock(shared->store_mutex);
    shared->store = nullptr;
  }
  shared->known->Detach();  // an abandoned fetch thread keeps it (in `shared`) but can no longer reach the store
  if (!summary.fetch_abandoned) source_.AttachKnownRecords(nullptr);
  if (options_.progress_watcher) options_.progress_watcher->RunFinished();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  auto flushed = store_.Flush();
  if (failure.ok() && !flushed) failure = flushed.error();
  const std::string state = !failure.ok() ? "failed" : summary.stopped ? "stopped" : "succeeded";
  nlohmann::json summary_json = summary.ToJson();
  summary_json["progress"] = progress_->Snapshot();
  // Kept with the run, so `status` can say why it failed after the terminal is gone.
  if (!failure.ok()) summary_json["error"] = RedactSecrets(config_, failure.ToString());
  RETURN_IF_ERROR(store_.FinishRun(config_.tenant_id, run_id, state, summary_json));
  if (!failure.ok()) return Error(failure);
  return summary;
}

void Runner::FetchLoop(std::shared_ptr<Shared> shared) {
  // Touches only `shared`, the source and the progress tracker (both outlive an abandoned fetch: see the
  // header), never the runner's other members once the run may have returned.
  Source& source = source_;
  const std::string tenant = config_.tenant_id;
  const std::vector<std::string> streams = options_.streams.empty() ? source.Streams() : options_.streams;
  std::shared_ptr<ProgressTracker> progress = progress_;
  const std::atomic<bool>* stop = options_.stop;  // the caller keeps it alive (process-wide for the CLI)
  const bool reread_everything = options_.reread_everything;
  auto cancelled = [&] { return shared->cancel.load() || (stop != nullptr && stop->load()); };
  // Batches fetched but not yet committed: one in the fetched queue per slot, one per CPU worker, and as many
  // again finished and waiting for an earlier one to commit; and one per I/O worker when that lane runs.
  const int64_t max_in_flight =
      static_cast<int64_t>(options_.queue_capacity) + 2 * options_.cpu_workers + io_workers_;
  const int64_t cpu_workers = options_.cpu_workers;
  Status error;
  int64_t seq = 0;
  for (const std::string& stream : streams) {
    if (cancelled()) break;
    nlohmann::json cursor;
    {
      std::lock_guard lock(shared->store_mutex);
      if (shared->store == nullptr) break;
      auto loaded = shared->store->LoadCursor(tenant, stream);
      if (!loaded) {
        error = loaded.error().WithContext("stream " + stream);
        break;
      }
      if (!reread_everything) cursor = std::move(*loaded);
    }
    progress->StreamStarted(stream);
    // The credits spent on the stream: the source's account usage before and after each of its calls (the
    // fetch is the only reader of the source while it runs).
    std::optional<SourceUsage> usage = source.Usage();
    auto spent = [&]() -> std::optional<int64_t> {
      std::optional<SourceUsage> now = source.Usage();
      if (now) progress->SetBudget(now->budget_credits_per_second);
      std::optional<int64_t> credits;
      if (now && usage) credits = std::max<int64_t>(0, now->credits - usage->credits);
      usage = now;
      return credits;
    };
    if (auto counted = source.CountRemaining(stream, cursor); counted) {
      progress->SetTotal(stream, *counted);
      if (*counted) log::Debug("stream counted", {{"stream", stream}, {"items", std::to_string(**counted)}});
    } else {
      // Only the progress display loses: the stream is read all the same.
      log::Warn("stream not counted; its total is unknown",
                {{"stream", stream}, {"error", counted.error().ToString()}});
    }
    progress->AddFetched(stream, 0, spent());
    int64_t stream_batches = 0;
    int64_t stream_weight = 0;
    auto usual_weight = [&] { return stream_batches == 0 ? int64_t{0} : stream_weight / stream_batches; };
    // Back-pressure over the whole pipeline, not only the fetched queue: CPU workers hand batches on to
    // `finished` without bound, so when the store is the slow stage the fetch must wait here or processed
    // batches (records, chunks, vectors) pile up in memory for the length of the run. By weight as well as
    // by count, for the heavy batches SplitHeavyBatch cannot split (one long thread, large attachments): the
    // window holds max_in_flight batches of the stream's mean weight so far, but never fewer batches than
    // there are CPU workers to keep busy.
    auto window_full = [&] {
      const int64_t batches = shared->pushed - shared->committed;
      if (batches >= max_in_flight) return true;
      if (batches < cpu_workers || stream_batches == 0) return false;
      const int64_t usual = usual_weight();
      return shared->in_flight_weight + usual > max_in_flight * usual;
    };
    bool stream_over = false;
    while (!stream_over) {
      {
        std::unique_lock lock(shared->mutex);
        while (window_full() && !cancelled()) shared->changed.wait_for(lock, std::chrono::milliseconds(100));
      }
      if (cancelled()) {
        progress->StreamFinished(stream, "stopped");
        break;
      }
      auto next = source.Next(stream, cursor);
      if (!next) {
        if (next.error().code() == StatusCode::kPermissionDenied) {
          // A feature the account's plan lacks: the rest of the helpdesk still syncs.
          log::Warn("stream skipped: not available to this account",
                    {{"stream", stream}, {"reason", next.error().message()}});
          std::lock_guard lock(shared->mutex);
          shared->skipped_streams[stream] = next.error().message();
          progress->StreamFinished(stream, "skipped");
          break;
        }
        error = next.error().WithContext("stream " + stream);
        progress->StreamFinished(stream, "failed");
        break;
      }
      progress->Add(stream, Stage::kFetch, Count(next->records.size()));
      progress->AddFetched(stream, Items(next->records) + Count(next->rejected.size()), spent());
      if (next->done) progress->FetchFinished(stream);
      if (auto range = UpdatedAtRange(*next)) progress->ObserveUpdatedAt(stream, range->first, range->second);
      next->stream = stream;
      cursor = next->cursor;
      stream_over = next->done;
      const int64_t weight = BatchWeight(*next);
      const int64_t usual = usual_weight();
      ++stream_batches;
      stream_weight += weight;
      bool closed = false;
      for (BatchPart& part : SplitHeavyBatch(std::move(*next), weight, usual)) {
        WorkItem item;
        item.seq = seq;
        item.weight = part.weight;
        item.batch = std::move(part.batch);
        {
          // Counted before the push: the store may take the batch before this thread runs again.
          std::lock_guard lock(shared->mutex);
          shared->in_flight_weight += item.weight;
        }
        if (!shared->cpu.Push(std::move(item))) {  // closed: the run is winding down
          closed = true;
          break;
        }
        {
          std::lock_guard lock(shared->mutex);
          shared->pushed = ++seq;
        }
        progress->BatchThrough(stream, Stage::kFetch);
        shared->changed.notify_all();
      }
      if (closed) break;
    }
    if (!error.ok() || cancelled()) break;
  }
  {
    std::lock_guard lock(shared->mutex);
    shared->fetch_error = error;
    shared->fetch_done = true;
  }
  shared->changed.notify_all();
}

void Runner::LaneWorker(Lane lane) {
  std::shared_ptr<Shared> shared = shared_;
  LaneQueue<WorkItem>& queue = lane == Lane::kCpu ? shared->cpu : shared->io;
  while (std::optional<WorkItem> item = queue.Pop()) {
    // A batch not yet started waits for no stop; one started finishes unless it can no longer commit.
    const bool stop_requested = options_.stop != nullptr && options_.stop->load();
    const bool fresh = item->next_step == 0;
    if (shared->closing.load() || item->seq > shared->failed_seq.load() ||
        (fresh && (shared->stopping.load() || stop_requested))) {
      item->skipped = true;
    } else {
      while (item->next_step < steps_.size() && steps_[item->next_step].lane == lane) {
        const Step& step = steps_[item->next_step];
        auto done = (this->*step.run)(*item);
        ++item->next_step;
        if (done && step.through) progress_->BatchThrough(item->batch.stream, *step.through);
        if (!done) {
          item->error = done.error();
          // Nothing after a failed batch may commit; the batches before it still do.
          int64_t failed = shared->failed_seq.load();
          while (item->seq < failed && !shared->failed_seq.compare_exchange_weak(failed, item->seq)) {
          }
          shared->cancel = true;
          break;
        }
      }
      if (item->error.ok() && item->next_step < steps_.size()) {
        LaneQueue<WorkItem>& next = steps_[item->next_step].lane == Lane::kCpu ? shared->cpu : shared->io;
        const int64_t seq = item->seq;
        if (next.Resume(std::move(*item))) continue;
        // The run is winding down: the batch can no longer commit, but the store stage may still be counting.
        item.emplace();
        item->seq = seq;
        item->skipped = true;
      } else if (item->error.ok()) {
        CompleteWrite(*item);
      }
    }
    {
      std::lock_guard lock(shared->mutex);
      shared->finished.emplace(item->seq, std::move(*item));
    }
    shared->changed.notify_all();
  }
}

Result<void> Runner::PrepareDocuments(WorkItem& item) {
  const std::string& stream = item.batch.stream;
  BatchWrite& write = item.processed.write;
  write.removed_ids = std::move(item.batch.removed_ids);
  stages::AddRejectedRecordLetters(stream, item.batch.rejected, write.dead_letters);

  item.records = std::move(item.batch.records);
  item.batch.records.clear();
  stages::TransformRecords(stream, item.records, write.dead_letters);
  item.processed.records = Count(item.records.size());
  item.items = Items(item.records);
  progress_->Add(stream, Stage::kTransform, item.processed.records);

  if (options_.extract_attachments) {
    item.processed.attachments_extracted = extract_->Run(stream, item.records, write.dead_letters);
    progress_->Add(stream, Stage::kExtract, item.processed.attachments_extracted);
  }

  item.documents = stages::BuildBatchDocuments(item.records);
  if (!writes_records_) item.records.clear();  // vector-only mode keeps no record tables (DESIGN §3)
  return {};
}

Result<void> Runner::Summarize(WorkItem& item) {
  return summarize_->Run(item.batch.stream, item.documents, item.summary_records, item.processed.write);
}

Result<void> Runner::Chunk(WorkItem& item) {
  ASSIGN_OR_RETURN(stages::ChunkedDocuments chunked,
                   stages::ChunkChangedDocuments(
                       std::move(item.documents),
                       [this](const std::vector<std::string>& ids) {
                         std::lock_guard lock(shared_->store_mutex);
                         return store_.DocumentHashes(config_.tenant_id, ids);
                       },
                       {.max_tokens = options_.chunk_max_tokens, .overlap_tokens = options_.chunk_overlap_tokens},
                       [this](std::string_view text) { return embedder_.CountTokens(std::string(text)); }));
  item.documents = std::move(chunked.changed);
  item.processed.documents_unchanged = chunked.unchanged;
  progress_->Add(item.batch.stream, Stage::kChunk, Count(item.documents.size()));
  return {};
}

Result<void> Runner::Embed(WorkItem& item) {
  const std::string& stream = item.batch.stream;
  ASSIGN_OR_RETURN(stages::EmbedStage::Counts counts,
                   embed_->Run(item.documents, [this, &stream](int64_t vectors) {
                     progress_->Add(stream, Stage::kEmbed, vectors);
                   }));
  item.processed.chunks_embedded = counts.embedded;
  item.processed.chunks_cached = counts.cached;
  return {};
}

void Runner::CompleteWrite(WorkItem& item) {
  stages::ProcessedBatch& processed = item.processed;
  BatchWrite& write = processed.write;
  write.tenant_id = config_.tenant_id;
  write.stream = item.batch.stream;
  write.cursor = item.batch.cursor;
  write.fence = options_.commit_fence;
  processed.documents_written = Count(item.documents.size());
  for (const Document& document : item.documents) processed.chunks_written += Count(document.chunks.size());
  write.documents = std::move(item.documents);
  write.records = std::move(item.records);
  for (Record& summary : item.summary_records) write.records.push_back(std::move(summary));
}

Result<void> Runner::Commit(WorkItem& item, RunSummary& summary) {
  const std::string& stream = item.batch.stream;
  ASSIGN_OR_RETURN(const StreamSummary* stream_summary, commit_->Run(item.processed, summary));
  progress_->Add(stream, Stage::kStore, item.processed.records);
  progress_->AddProcessed(stream, item.items);
  progress_->AddFailed(stream, Count(item.processed.write.dead_letters.size()));
  progress_->BatchThrough(stream, Stage::kStore);
  if (item.batch.done) progress_->StreamFinished(stream, "done");
  if (options_.on_batch) {
    std::lock_guard lock(shared_->store_mutex);
    options_.on_batch(stream, *stream_summary);
  }
  return {};
}

void ApplyEmbedderCapabilities(Embedder& embedder, RunnerOptions& options) {
  const EmbedderCapabilities capabilities = embedder.capabilities();
  options.embedder_thread_safe = capabilities.thread_safe;
  options.embed_batch_size = std::min(options.embed_batch_size, std::max(1, capabilities.preferred_batch));
  const int cpu_workers = options.cpu_workers > 0 ? options.cpu_workers
                                                  : static_cast<int>(std::thread::hardware_concurrency());
  const int io_workers = options.io_workers > 0 ? options.io_workers : cpu_workers;
  embedder.SetConcurrentCalls(std::max(1, capabilities.network_bound ? io_workers : cpu_workers));
}

}  // namespace deskpipe
