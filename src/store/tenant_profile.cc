#include "store/tenant_profile.h"

namespace deskpipe {

nlohmann::json TenantProfile::ToJson() const {
  return {{"embedder", embedder},
          {"model_id", model_id},
          {"dimension", dimension},
          {"writes_records", writes_records},
          {"records_backfill", records_backfill}};
}

TenantProfile TenantProfile::FromJson(const nlohmann::json& json) {
  TenantProfile profile;
  if (!json.is_object()) return profile;
  profile.embedder = json.value("embedder", "");
  profile.model_id = json.value("model_id", "");
  profile.dimension = json.value("dimension", 0);
  profile.writes_records = json.value("writes_records", true);
  profile.records_backfill = json.value("records_backfill", false);
  return profile;
}

std::string TenantProfile::DescribeEmbedder() const {
  std::string details = model_id.empty() ? "" : model_id;
  if (dimension > 0) details += (details.empty() ? "" : ", ") + std::to_string(dimension) + "-d";
  const std::string name = embedder.empty() ? model_id : embedder;
  if (details.empty() || details == name) return name;
  return name + " (" + details + ")";
}

std::string TenantProfile::DescribeMode() const {
  return writes_records ? "a mode that keeps SQL records (hybrid)" : "vector-only mode with minimal SQL";
}

Result<void> CheckSameEmbedder(const std::string& tenant_id, const TenantProfile& recorded,
                               const TenantProfile& wanted) {
  if (recorded.model_id.empty()) return {};  // nothing embedded yet: any embedder may start
  const bool same_model = recorded.model_id == wanted.model_id;
  const bool same_dimension = recorded.dimension == 0 || recorded.dimension == wanted.dimension;
  if (same_model && same_dimension) return {};
  const std::string pass = recorded.embedder.empty() ? "the embedder whose model id is " + recorded.model_id
                                                     : "--embedder " + recorded.embedder;
  return Error(InvalidArgument("tenant " + tenant_id + " was embedded with " + recorded.DescribeEmbedder() +
                               ", not " + wanted.DescribeEmbedder() + "; pass " + pass +
                               ", or run `deskpipe reembed --tenant " + tenant_id + " --embedder " +
                               wanted.embedder + "` to re-embed it with " + wanted.embedder));
}

}  // namespace deskpipe
