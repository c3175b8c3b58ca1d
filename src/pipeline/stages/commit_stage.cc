#include "pipeline/stages/commit_stage.h"

#include <utility>

#include "core/log.h"

namespace deskpipe::stages {

CommitStage::CommitStage(Store& store, std::mutex& store_mutex, std::string model_id)
    : store_(store), store_mutex_(store_mutex), model_id_(std::move(model_id)) {}

Result<const StreamSummary*> CommitStage::Run(const ProcessedBatch& batch, RunSummary& summary) {
  {
    std::lock_guard lock(store_mutex_);
    RETURN_IF_ERROR(store_.Commit(batch.write, model_id_));
  }
  const int64_t letters = static_cast<int64_t>(batch.write.dead_letters.size());
  StreamSummary& stream = summary.streams[batch.write.stream];
  ++stream.batches;
  stream.records += batch.records;
  stream.rejected += letters;
  summary.documents_written += batch.documents_written;
  summary.documents_unchanged += batch.documents_unchanged;
  summary.chunks_written += batch.chunks_written;
  summary.chunks_embedded += batch.chunks_embedded;
  summary.chunks_cached += batch.chunks_cached;
  summary.attachments_extracted += batch.attachments_extracted;
  summary.dead_letters += letters;
  for (const DeadLetter& letter : batch.write.dead_letters) {
    log::Warn("record dead-lettered",
              {{"stream", letter.stream}, {"id", letter.record_id}, {"stage", letter.stage},
               {"error", letter.error_class}, {"reason", letter.message}});
  }
  return &stream;
}

}  // namespace deskpipe::stages
