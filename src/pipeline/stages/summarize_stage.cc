#include "pipeline/stages/summarize_stage.h"

#include <utility>

namespace deskpipe::stages {

Result<std::unique_ptr<SummarizeStage>> SummarizeStage::FromConfig(const Config& config,
                                                                   const std::atomic<bool>* stop,
                                                                   Summarizer::HashLookup stored_hashes) {
  ASSIGN_OR_RETURN(std::unique_ptr<Summarizer> summarizer, Summarizer::FromConfig(config));
  if (!summarizer) return std::unique_ptr<SummarizeStage>();
  summarizer->set_stop(stop);
  return std::make_unique<SummarizeStage>(std::move(summarizer), std::move(stored_hashes));
}

SummarizeStage::SummarizeStage(std::unique_ptr<Summarizer> summarizer, Summarizer::HashLookup stored_hashes)
    : summarizer_(std::move(summarizer)), stored_hashes_(std::move(stored_hashes)) {}

Result<void> SummarizeStage::Run(const std::string& stream, std::vector<Document>& documents,
                                 std::vector<Record>& summary_records, BatchWrite& write) {
  return summarizer_->AddSummaries(stream, documents, summary_records, write, stored_hashes_);
}

}  // namespace deskpipe::stages
