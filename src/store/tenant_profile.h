// TenantProfile: what a tenant's stored data was made with — the embedder (its --embedder name, model id and
// dimension) and the mode (whether SQL keeps the records) — recorded at the tenant's first sync and checked by
// every later verb, so vectors of two models never share an index and a mode switch is never silent.
// Thread-safety: plain values and pure functions. Lifetime: values.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace deskpipe {

struct TenantProfile {
  std::string embedder;  // the --embedder name ("hashing", "use-lite", "openai"); "" when inferred from chunks
  std::string model_id;  // Embedder::model_id() of every vector; "" when nothing was embedded yet
  int dimension = 0;     // vector width; 0 when unknown
  bool writes_records = true;  // SQL keeps the record tables (hybrid, or vector-only without minimal SQL)
  // Set when the tenant switched from a mode without records to one with them: the sync re-reads every record
  // (cursors reset, stored state ignored) until a run completes.
  bool records_backfill = false;

  nlohmann::json ToJson() const;
  static TenantProfile FromJson(const nlohmann::json& json);
  // "hashing (hashing-v1-256, 256-d)".
  std::string DescribeEmbedder() const;
  std::string DescribeMode() const;
};

// OK when vectors of `wanted` (its embedder name, model id and dimension) may be searched against or written
// into the tenant's, else InvalidArgument naming both and the commands that resolve it.
Result<void> CheckSameEmbedder(const std::string& tenant_id, const TenantProfile& recorded,
                               const TenantProfile& wanted);

}  // namespace deskpipe
