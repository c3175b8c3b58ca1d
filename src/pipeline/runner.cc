#include "pipeline/runner.h"

#include <chrono>
#include <unordered_set>
#include <utility>

#include "core/hash.h"
#include "core/log.h"
#include "embed/embedder_factory.h"
#include "net/http_client.h"
#include "platforms/registry.h"
#include "transforms/chunker.h"
#include "transforms/thread.h"

namespace deskpipe {
namespace {

bool StopsTheRun(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnauthenticated:
    case StatusCode::kInternal:
    case StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
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
          {"dead_letters", dead_letters},
          {"seconds", seconds}};
}

Runner::Runner(const Config& config, Source& source, Embedder& embedder, Store& store, RunnerOptions options)
    : config_(config), source_(source), embedder_(embedder), store_(store), options_(std::move(options)) {
  if (options_.chunk_max_tokens <= 0) options_.chunk_max_tokens = embedder_.max_tokens();
}

Result<RunSummary> Runner::Run() {
  const auto started = std::chrono::steady_clock::now();
  RunSummary summary;
  ASSIGN_OR_RETURN(int64_t run_id, store_.BeginRun(config_.tenant_id));

  std::vector<std::string> streams = options_.streams.empty() ? source_.Streams() : options_.streams;
  Status failure;
  for (const std::string& stream : streams) {
    auto synced = SyncStream(stream, summary);
    if (!synced) {
      failure = synced.error().WithContext("stream " + stream);
      break;
    }
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  auto flushed = store_.Flush();
  if (failure.ok() && !flushed) failure = flushed.error();
  RETURN_IF_ERROR(store_.FinishRun(config_.tenant_id, run_id, failure.ok() ? "succeeded" : "failed",
                                   summary.ToJson()));
  if (!failure.ok()) return Error(failure);
  return summary;
}

Result<void> Runner::SyncStream(const std::string& stream, RunSummary& summary) {
  StreamSummary& stream_summary = summary.streams[stream];
  ASSIGN_OR_RETURN(nlohmann::json cursor, store_.LoadCursor(config_.tenant_id, stream));
  for (;;) {
    auto next = source_.Next(stream, cursor);
    if (!next) {
      const Status& error = next.error();
      if (error.code() == StatusCode::kPermissionDenied) {
        // A feature the account's plan lacks: the rest of the helpdesk still syncs.
        stream_summary.skipped = true;
        stream_summary.skip_reason = error.message();
        log::Warn("stream skipped: not available to this account", {{"stream", stream}, {"reason", error.message()}});
        return {};
      }
      return Error(error);
    }
    Batch& batch = *next;
    RETURN_IF_ERROR(ProcessBatch(batch, summary, stream_summary));
    cursor = std::move(batch.cursor);
    if (options_.on_batch) options_.on_batch(stream, stream_summary);
    if (batch.done) return {};
  }
}

Result<void> Runner::ProcessBatch(Batch& batch, RunSummary& summary, StreamSummary& stream_summary) {
  BatchWrite write;
  write.tenant_id = config_.tenant_id;
  write.stream = batch.stream;
  write.cursor = batch.cursor;
  write.removed_ids = std::move(batch.removed_ids);

  for (auto& [record_id, status] : batch.rejected) {
    write.dead_letters.push_back(
        {batch.stream, record_id, "map", std::string(StatusCodeName(status.code())), status.message()});
  }

  // Transform: HTML → text. A record that cannot be converted is dead-lettered, with the conversations of a
  // rejected ticket kept out of any thread.
  std::vector<Record> records;
  records.reserve(batch.records.size());
  for (Record& record : batch.records) {
    auto converted = transforms::ConvertRecordContent(record);
    if (!converted) {
      write.dead_letters.push_back({batch.stream, record.id, "transform",
                                    std::string(StatusCodeName(converted.error().code())),
                                    converted.error().message()});
      continue;
    }
    records.push_back(std::move(record));
  }

  std::vector<Document> documents = transforms::BuildDocuments(records);
  for (Document& document : documents) {
    // The stored hash covers the metadata too, so a status change rewrites the document's filters.
    document.content_hash = HashBuilder().Add(document.content_hash).Add(document.metadata.dump()).Hex();
  }

  // Unchanged documents are neither re-chunked nor re-embedded nor rewritten.
  std::vector<std::string> ids;
  ids.reserve(documents.size());
  for (const Document& document : documents) ids.push_back(document.id);
  ASSIGN_OR_RETURN(auto stored_hashes, store_.DocumentHashes(config_.tenant_id, ids));
  std::vector<Document> changed;
  changed.reserve(documents.size());
  for (Document& document : documents) {
    auto it = stored_hashes.find(document.id);
    if (it != stored_hashes.end() && it->second == document.content_hash) {
      ++summary.documents_unchanged;
      continue;
    }
    transforms::ChunkDocument(document,
                              {.max_tokens = options_.chunk_max_tokens,
                               .overlap_tokens = options_.chunk_overlap_tokens},
                              [this](std::string_view text) { return embedder_.CountTokens(std::string(text)); });
    changed.push_back(std::move(document));
  }
  RETURN_IF_ERROR(EmbedChunks(changed, summary));

  summary.documents_written += static_cast<int64_t>(changed.size());
  for (const Document& document : changed) summary.chunks_written += static_cast<int64_t>(document.chunks.size());
  stream_summary.records += static_cast<int64_t>(records.size());
  stream_summary.rejected += static_cast<int64_t>(write.dead_letters.size());
  summary.dead_letters += static_cast<int64_t>(write.dead_letters.size());
  for (const DeadLetter& letter : write.dead_letters) {
    log::Warn("record dead-lettered",
              {{"stream", letter.stream}, {"id", letter.record_id}, {"stage", letter.stage},
               {"error", letter.error_class}, {"reason", letter.message}});
  }
  ++stream_summary.batches;

  write.documents = std::move(changed);
  if (config_.full_streaming_mode && config_.vector_only_minimal_sql) {
    write.records.clear();  // vector-only mode keeps no record tables (DESIGN §3)
  } else {
    write.records = std::move(records);
  }
  return store_.Commit(write, embedder_.model_id());
}

Result<void> Runner::EmbedChunks(std::vector<Document>& documents, RunSummary& summary) {
  std::vector<std::string> hashes;
  for (const Document& document : documents) {
    for (const Chunk& chunk : document.chunks) hashes.push_back(chunk.content_hash);
  }
  if (hashes.empty()) return {};
  ASSIGN_OR_RETURN(auto cached, store_.CachedEmbeddings(embedder_.model_id(), hashes));

  // Chunks to embed, deduplicated by content hash: the same text is embedded once.
  std::vector<Chunk*> pending;
  std::unordered_map<std::string, std::vector<float>> computed;
  std::vector<std::string> texts;
  std::vector<std::string> text_hashes;
  for (Document& document : documents) {
    for (Chunk& chunk : document.chunks) {
      if (auto it = cached.find(chunk.content_hash); it != cached.end()) {
        chunk.vector = it->second;
        ++summary.chunks_cached;
        continue;
      }
      pending.push_back(&chunk);
      if (computed.emplace(chunk.content_hash, std::vector<float>{}).second) {
        texts.push_back(chunk.text);
        text_hashes.push_back(chunk.content_hash);
      }
    }
  }
  const size_t step = static_cast<size_t>(std::max(1, options_.embed_batch_size));
  for (size_t begin = 0; begin < texts.size(); begin += step) {
    const size_t end = std::min(texts.size(), begin + step);
    std::vector<std::string> slice(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                   texts.begin() + static_cast<std::ptrdiff_t>(end));
    ASSIGN_OR_RETURN(auto vectors, embedder_.Embed(slice));
    if (vectors.size() != slice.size()) {
      return Error(Internal("embedder returned " + std::to_string(vectors.size()) + " vectors for " +
                            std::to_string(slice.size()) + " texts"));
    }
    for (size_t i = 0; i < vectors.size(); ++i) computed[text_hashes[begin + i]] = std::move(vectors[i]);
    summary.chunks_embedded += static_cast<int64_t>(vectors.size());
  }
  for (Chunk* chunk : pending) chunk->vector = computed[chunk->content_hash];
  return {};
}

Result<std::unique_ptr<Store>> OpenConfiguredStore(const Config& config, const Embedder& embedder) {
  StoreOptions options;
  options.url = config.EffectiveStoreUrl();
  options.data_dir = config.data_dir;
  options.dimension = embedder.dimension();
  options.hybrid = !config.full_streaming_mode;
  return OpenStore(options);
}

Result<RunSummary> RunSync(const Config& config, RunnerOptions options) {
  auto http = net::MakeCurlHttpClient();
  ASSIGN_OR_RETURN(auto source, CreateSource(config, *http));
  ASSIGN_OR_RETURN(auto embedder, MakeEmbedder(config.embedder));
  ASSIGN_OR_RETURN(auto store, OpenConfiguredStore(config, *embedder));
  Runner runner(config, *source, *embedder, *store, std::move(options));
  return runner.Run();
}

}  // namespace deskpipe
