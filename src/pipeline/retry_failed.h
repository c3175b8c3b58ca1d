// `deskpipe retry-failed`: runs the records that failed for good (the dead letters) through the pipeline
// again. Each dead letter's record is re-read with Source::Refetch and goes through the same runner as a sync
// (transform → extract → chunk → embed → store), committed with its stream's saved cursor unchanged. A record
// that now goes through, or that the platform no longer has, leaves the dead-letter table; one that fails
// again stays there with its attempts counted up and its latest reason.
// Thread-safety: one call at a time per store; do not run it beside a sync of the same tenant.
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

struct RetrySummary {
  int64_t retried = 0;        // dead letters taken up
  int64_t resolved = 0;       // went through this time (removed from the table)
  int64_t gone = 0;           // the platform no longer has them (removed from the table)
  int64_t still_failing = 0;  // failed again (attempts + 1)
  RunSummary run;

  nlohmann::json ToJson() const;
};

// Retries every dead letter of config.tenant_id (only those of `streams` when non-empty).
Result<RetrySummary> RetryFailed(const Config& config, Source& source, Embedder& embedder, Store& store,
                                 RunnerOptions options = {}, const std::vector<std::string>& streams = {});

}  // namespace deskpipe
