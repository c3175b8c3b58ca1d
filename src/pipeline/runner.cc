#include "pipeline/runner.h"

#include <malloc.h>

#include <algorithm>
#include <climits>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/bounded_queue.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/time.h"
#include "extract/extract.h"
#include "pipeline/store_known_records.h"
#include "pipeline/summarizer.h"
#include "transforms/chunker.h"
#include "transforms/thread.h"

namespace deskpipe {

// One fetched batch on its way to the store, with what the CPU stages made of it.
struct Runner::WorkItem {
  int64_t seq = 0;  // fetch order; commits follow it
  int64_t weight = 0;  // BatchWeight as fetched, for the fetch's back-pressure
  Batch batch;
  BatchWrite write;
  int64_t records = 0;
  int64_t documents_written = 0;
  int64_t documents_unchanged = 0;
  int64_t chunks_written = 0;
  int64_t chunks_embedded = 0;
  int64_t chunks_cached = 0;
  int64_t attachments_extracted = 0;
  Status error;          // a failure that stops the run
  bool skipped = false;  // not processed: the run was stopping
};

// State shared by the runner's threads. Held by shared_ptr so a fetch thread left in the network after the
// run returned still has a valid queue and flags to find.
struct Runner::Shared {
  explicit Shared(size_t capacity) : fetched(capacity) {}

  BoundedQueue<WorkItem> fetched;
  std::atomic<bool> cancel{false};    // stop fetching (stop requested, failure, or the run is winding down)
  std::atomic<bool> stopping{false};  // also skip batches not yet started (stop requested or winding down)
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
  std::mutex embed_mutex;   // serializes Embed() when the embedder is not thread-safe
  // The attachment extractor, found on first use; its error (worker binary missing) dead-letters attachments.
  std::once_flag extractor_once;
  std::optional<extract::Extractor> extractor;
  Status extractor_error;
  std::vector<std::thread> workers;
  std::thread fetcher;
};

namespace {

int64_t Count(size_t n) { return static_cast<int64_t>(n); }

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
  ASSIGN_OR_RETURN(summarizer_, Summarizer::FromConfig(config_));
  if (summarizer_) summarizer_->set_stop(options_.stop);
  ASSIGN_OR_RETURN(int64_t run_id, store_.BeginRun(config_.tenant_id));

  shared_ = std::make_shared<Shared>(static_cast<size_t>(options_.queue_capacity));
  shared_->store = &store_;
  // The source diffs against what is stored: removed conversations, the reconciliation sweep, KB tombstones.
  // Re-reading everything, it sees nothing stored, so every record is fetched and written again.
  shared_->known = std::make_unique<StoreKnownRecords>(store_, config_.tenant_id, shared_->store_mutex);
  source_.AttachKnownRecords(options_.reread_everything ? nullptr : shared_->known.get());
  std::shared_ptr<Shared> shared = shared_;

  ProgressDisplay display(*progress_, options_.display);
  display.Start();

  shared->fetcher = std::thread([this, shared] { FetchLoop(shared); });
  for (int i = 0; i < options_.cpu_workers; ++i) shared->workers.emplace_back([this] { CpuWorker(); });

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
    if (auto committed = CommitItem(*item, summary); !committed) {
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

  // Wind down: no more batches start; workers finish (or skip) what they hold.
  shared->stopping = true;
  shared->cancel = true;
  shared->fetched.Close();
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
  display.Stop();
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
  // again finished and waiting for an earlier one to commit.
  const int64_t max_in_flight = static_cast<int64_t>(options_.queue_capacity) + 2 * options_.cpu_workers;
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
        if (!shared->fetched.Push(std::move(item))) {  // closed: the run is winding down
          closed = true;
          break;
        }
        {
          std::lock_guard lock(shared->mutex);
          shared->pushed = ++seq;
        }
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

void Runner::CpuWorker() {
  std::shared_ptr<Shared> shared = shared_;
  while (std::optional<WorkItem> item = shared->fetched.Pop()) {
    const bool stop_requested = options_.stop != nullptr && options_.stop->load();
    if (shared->stopping.load() || stop_requested || item->seq > shared->failed_seq.load()) {
      item->skipped = true;
    } else if (auto processed = ProcessBatch(*item); !processed) {
      item->error = processed.error();
      // Nothing after a failed batch may commit; the batches before it still do.
      int64_t failed = shared->failed_seq.load();
      while (item->seq < failed && !shared->failed_seq.compare_exchange_weak(failed, item->seq)) {
      }
      shared->cancel = true;
    }
    {
      std::lock_guard lock(shared->mutex);
      shared->finished.emplace(item->seq, std::move(*item));
    }
    shared->changed.notify_all();
  }
}

void Runner::ExtractAttachmentText(std::vector<Record>& records, WorkItem& item) {
  const std::string& stream = item.batch.stream;
  bool any = false;
  for (const Record& record : records) any = any || !record.attachments.empty();
  if (!any) return;
  std::call_once(shared_->extractor_once, [this] {
    auto extractor = extract::Extractor::Create();
    if (extractor) {
      shared_->extractor.emplace(std::move(*extractor));
    } else {
      shared_->extractor_error = extractor.error();
      log::Error("attachment text cannot be extracted", {{"reason", extractor.error().ToString()}});
    }
  });
  if (shared_->extractor) extract::ExtractAttachments(records, *shared_->extractor);
  int64_t extracted = 0;
  for (const Record& record : records) {
    for (const Attachment& attachment : record.attachments) {
      const std::string id = record.id + "/attachment-" + attachment.id;
      if (!attachment.download_error.empty()) {
        item.write.dead_letters.push_back({stream, id, "download", "Unavailable", attachment.download_error});
      } else if (!shared_->extractor) {
        item.write.dead_letters.push_back({stream, id, "extract", std::string(StatusCodeName(
                                                                       shared_->extractor_error.code())),
                                           shared_->extractor_error.message()});
      } else if (!attachment.extract_error.empty()) {
        item.write.dead_letters.push_back(
            {stream, id, "extract", "InvalidRecord", attachment.name + ": " + attachment.extract_error});
      } else {
        ++extracted;
      }
    }
  }
  item.attachments_extracted += extracted;
  progress_->Add(stream, Stage::kExtract, extracted);
}

Result<void> Runner::ProcessBatch(WorkItem& item) {
  Batch& batch = item.batch;
  const std::string& stream = batch.stream;
  BatchWrite& write = item.write;
  write.tenant_id = config_.tenant_id;
  write.stream = stream;
  write.cursor = batch.cursor;
  write.removed_ids = std::move(batch.removed_ids);

  for (auto& [record_id, status] : batch.rejected) {
    // A record the source could not read after its retries failed at fetch; any other, at mapping.
    const bool transient = status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kRateLimited;
    write.dead_letters.push_back({stream, record_id, transient ? "fetch" : "map",
                                  std::string(StatusCodeName(status.code())), status.message()});
  }

  // Transform: HTML → text. A record that cannot be converted is dead-lettered, with the conversations of a
  // rejected ticket kept out of any thread.
  // Kept in place: a batch's records fill a few hundred KB, and a new vector of them would be fresh pages to
  // fault in at every batch.
  std::vector<Record> records = std::move(batch.records);
  size_t kept = 0;
  for (Record& record : records) {
    auto converted = transforms::ConvertRecordContent(record);
    if (!converted) {
      write.dead_letters.push_back({stream, record.id, "transform",
                                    std::string(StatusCodeName(converted.error().code())),
                                    converted.error().message()});
      continue;
    }
    if (&record != &records[kept]) records[kept] = std::move(record);
    ++kept;
  }
  records.erase(records.begin() + static_cast<std::ptrdiff_t>(kept), records.end());
  batch.records.clear();
  progress_->Add(stream, Stage::kTransform, Count(records.size()));

  // Extract: attachment text, each file parsed in a sandboxed child. A file that failed to download or to
  // parse costs a dead letter; its record goes on without that text.
  if (options_.extract_attachments) ExtractAttachmentText(records, item);

  std::vector<Document> documents = transforms::BuildDocuments(records);
  for (Document& document : documents) {
    // The stored hash covers the metadata too, so a status change rewrites the document's filters.
    document.content_hash = HashBuilder().Add(document.content_hash).Add(document.metadata.dump()).Hex();
  }

  // LLM summaries of threads whose text changed since their last summary (hybrid mode, when enabled); a
  // failure is a dead letter, never a failed batch.
  std::vector<Record> summary_records;
  if (summarizer_) {
    RETURN_IF_ERROR(summarizer_->AddSummaries(stream, documents, summary_records, write,
                                              [this](const std::vector<std::string>& summary_ids) {
                                                std::lock_guard lock(shared_->store_mutex);
                                                return store_.DocumentHashes(config_.tenant_id, summary_ids);
                                              }));
  }

  // Unchanged documents are neither re-chunked nor re-embedded nor rewritten.
  std::vector<std::string> ids;
  ids.reserve(documents.size());
  for (const Document& document : documents) ids.push_back(document.id);
  std::unordered_map<std::string, std::string> stored_hashes;
  {
    std::lock_guard lock(shared_->store_mutex);
    ASSIGN_OR_RETURN(stored_hashes, store_.DocumentHashes(config_.tenant_id, ids));
  }
  std::vector<Document> changed;
  changed.reserve(documents.size());
  for (Document& document : documents) {
    auto it = stored_hashes.find(document.id);
    if (it != stored_hashes.end() && it->second == document.content_hash) {
      ++item.documents_unchanged;
      continue;
    }
    transforms::ChunkDocument(document,
                              {.max_tokens = options_.chunk_max_tokens,
                               .overlap_tokens = options_.chunk_overlap_tokens},
                              [this](std::string_view text) { return embedder_.CountTokens(std::string(text)); });
    changed.push_back(std::move(document));
  }
  progress_->Add(stream, Stage::kChunk, Count(changed.size()));
  RETURN_IF_ERROR(EmbedChunks(changed, item));

  item.documents_written = Count(changed.size());
  for (const Document& document : changed) item.chunks_written += Count(document.chunks.size());
  item.records = Count(records.size());

  write.documents = std::move(changed);
  if (config_.full_streaming_mode && config_.vector_only_minimal_sql) {
    write.records.clear();  // vector-only mode keeps no record tables (DESIGN §3)
  } else {
    write.records = std::move(records);
    for (Record& summary : summary_records) write.records.push_back(std::move(summary));
  }
  return {};
}

Result<void> Runner::EmbedChunks(std::vector<Document>& documents, WorkItem& item) {
  std::vector<std::string> hashes;
  for (const Document& document : documents) {
    for (const Chunk& chunk : document.chunks) hashes.push_back(chunk.content_hash);
  }
  if (hashes.empty()) return {};
  std::unordered_map<std::string, std::vector<float>> cached;
  {
    std::lock_guard lock(shared_->store_mutex);
    ASSIGN_OR_RETURN(cached, store_.CachedEmbeddings(embedder_.model_id(), hashes));
  }

  // Chunks to embed, deduplicated by content hash: the same text is embedded once.
  std::vector<Chunk*> pending;
  std::unordered_map<std::string, std::vector<float>> computed;
  std::vector<std::string> texts;
  std::vector<std::string> text_hashes;
  for (Document& document : documents) {
    for (Chunk& chunk : document.chunks) {
      if (auto it = cached.find(chunk.content_hash); it != cached.end()) {
        chunk.vector = it->second;
        ++item.chunks_cached;
        continue;
      }
      pending.push_back(&chunk);
      if (computed.emplace(chunk.content_hash, std::vector<float>{}).second) {
        texts.push_back(chunk.text);
        text_hashes.push_back(chunk.content_hash);
      }
    }
  }
  progress_->Add(item.batch.stream, Stage::kEmbed, item.chunks_cached);
  const size_t step = static_cast<size_t>(std::max(1, options_.embed_batch_size));
  for (size_t begin = 0; begin < texts.size(); begin += step) {
    const size_t end = std::min(texts.size(), begin + step);
    std::vector<std::string> slice(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                   texts.begin() + static_cast<std::ptrdiff_t>(end));
    std::unique_lock<std::mutex> serialized;
    if (!options_.embedder_thread_safe) serialized = std::unique_lock(shared_->embed_mutex);
    ASSIGN_OR_RETURN(auto vectors, embedder_.Embed(slice));
    if (serialized.owns_lock()) serialized.unlock();
    if (vectors.size() != slice.size()) {
      return Error(Internal("embedder returned " + std::to_string(vectors.size()) + " vectors for " +
                            std::to_string(slice.size()) + " texts"));
    }
    for (size_t i = 0; i < vectors.size(); ++i) computed[text_hashes[begin + i]] = std::move(vectors[i]);
    item.chunks_embedded += Count(vectors.size());
    progress_->Add(item.batch.stream, Stage::kEmbed, Count(vectors.size()));
  }
  for (Chunk* chunk : pending) chunk->vector = computed[chunk->content_hash];
  return {};
}

Result<void> Runner::CommitItem(WorkItem& item, RunSummary& summary) {
  const std::string& stream = item.batch.stream;
  {
    std::lock_guard lock(shared_->store_mutex);
    RETURN_IF_ERROR(store_.Commit(item.write, embedder_.model_id()));
  }
  StreamSummary& stream_summary = summary.streams[stream];
  ++stream_summary.batches;
  stream_summary.records += item.records;
  stream_summary.rejected += Count(item.write.dead_letters.size());
  summary.documents_written += item.documents_written;
  summary.documents_unchanged += item.documents_unchanged;
  summary.chunks_written += item.chunks_written;
  summary.chunks_embedded += item.chunks_embedded;
  summary.chunks_cached += item.chunks_cached;
  summary.attachments_extracted += item.attachments_extracted;
  summary.dead_letters += Count(item.write.dead_letters.size());
  for (const DeadLetter& letter : item.write.dead_letters) {
    log::Warn("record dead-lettered",
              {{"stream", letter.stream}, {"id", letter.record_id}, {"stage", letter.stage},
               {"error", letter.error_class}, {"reason", letter.message}});
  }
  progress_->Add(stream, Stage::kStore, item.records);
  if (item.batch.done) progress_->StreamFinished(stream, "done");
  if (options_.on_batch) {
    std::lock_guard lock(shared_->store_mutex);
    options_.on_batch(stream, stream_summary);
  }
  return {};
}

void ApplyEmbedderCapabilities(Embedder& embedder, RunnerOptions& options) {
  const EmbedderCapabilities capabilities = embedder.capabilities();
  options.embedder_thread_safe = capabilities.thread_safe;
  options.embed_batch_size = std::min(options.embed_batch_size, std::max(1, capabilities.preferred_batch));
  const int workers = options.cpu_workers > 0 ? options.cpu_workers
                                              : static_cast<int>(std::thread::hardware_concurrency());
  embedder.SetConcurrentCalls(std::max(1, workers));
}

}  // namespace deskpipe
