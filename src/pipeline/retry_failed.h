// `deskpipe retry-failed`: runs the records that failed for good (the dead letters) through the pipeline
// again. Each dead letter's record is re-read with Source::Refetch — a record the platform reads only with
// another (a conversation with its ticket) comes with it — and goes through the same runner as a sync
// (transform → extract → chunk → embed → store), committed with its stream's saved cursor unchanged.
//
// What becomes of a letter:
//   resolved       re-read and went through: it leaves the table;
//   gone           the platform no longer has the record (Refetch NotFound, or the re-read says it was removed):
//                  it leaves the table;
//   still failing  re-read and failed again: the pipeline wrote the letter anew, with the stage and reason of
//                  this failure, attempts + 1;
//   not retried    the platform cannot re-read it (Refetch InvalidRecord), or re-reading it failed this time (the
//                  helpdesk's error): the letter stays exactly as it was, and the summary says why.
// One re-read serves every letter of the same stream it covers (a ticket's thread re-read for one conversation's
// letter also retries the letters of its other conversations and attachments).
//
// Thread-safety: one call at a time per store; do not run it beside a sync of the same tenant.
// Lifetime: nothing is kept after the call; source, embedder and store must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/status.h"
#include "embed/embedder.h"
#include "pipeline/runner.h"
#include "platforms/platform.h"
#include "store/store.h"

namespace deskpipe {

// A dead letter retry-failed left as it was, and why.
struct UnretriedLetter {
  std::string stream;
  std::string record_id;
  // false: the platform cannot re-read this record (retrying again will not help until that changes);
  // true: re-reading it failed this time and a later retry may succeed.
  bool retryable = false;
  std::string reason;
};

struct RetrySummary {
  int64_t retried = 0;        // dead letters taken up
  int64_t resolved = 0;       // went through this time (removed from the table)
  int64_t gone = 0;           // the platform no longer has them (removed from the table)
  int64_t still_failing = 0;  // failed again (attempts + 1, this failure's stage and reason)
  int64_t not_retryable = 0;  // the platform cannot re-read them (left as they were)
  int64_t not_reread = 0;     // re-reading them failed this time (left as they were)
  std::vector<UnretriedLetter> not_retried;  // the letters of the last two counts
  RunSummary run;

  nlohmann::json ToJson() const;
};

// Retries every dead letter of config.tenant_id (only those of `streams` when non-empty).
Result<RetrySummary> RetryFailed(const Config& config, Source& source, Embedder& embedder, Store& store,
                                 RunnerOptions options = {}, const std::vector<std::string>& streams = {});

}  // namespace deskpipe
