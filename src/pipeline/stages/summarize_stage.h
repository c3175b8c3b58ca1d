// The summarize stage: LLM summaries of a batch's ticket threads whose text changed since their last summary
// (hybrid mode with ENABLE_LLM_SUMMARY_GENERATION; see pipeline/summarizer.h). A failure is a dead letter,
// never a failed batch.
//
// Network-bound: its calls wait on an HTTP endpoint, so the runner runs it on its I/O threads, never on a
// CPU worker.
// Input: the batch's documents (after the document stage). Output: the summary documents appended to them
// (their hashes final), the summary records, and summaries to remove and dead letters added to the write.
// Thread-safety: Run may be called from several threads at once. Lifetime: one per run; owns its Summarizer;
// the stored-hash lookup must stay callable for the run.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/record.h"
#include "core/status.h"
#include "pipeline/summarizer.h"
#include "store/store.h"

namespace deskpipe::stages {

class SummarizeStage {
 public:
  // Null when summaries are off. `stop` (may be null): once set, threads not yet sent are dead-lettered.
  static Result<std::unique_ptr<SummarizeStage>> FromConfig(const Config& config, const std::atomic<bool>* stop,
                                                           Summarizer::HashLookup stored_hashes);
  SummarizeStage(std::unique_ptr<Summarizer> summarizer, Summarizer::HashLookup stored_hashes);

  Result<void> Run(const std::string& stream, std::vector<Document>& documents,
                   std::vector<Record>& summary_records, BatchWrite& write);

 private:
  std::unique_ptr<Summarizer> summarizer_;
  Summarizer::HashLookup stored_hashes_;
};

}  // namespace deskpipe::stages
