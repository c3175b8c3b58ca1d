// A tenant as the service keeps it and runs it: reading a `PUT /api/tenants/{id}` body into a TenantRecord
// (fields checked one by one, the platform's secrets sealed), and building the Config a job or a search of the
// tenant runs with — the server's own settings (data directory, store, allowlist, defaults) overlaid with the
// tenant's, through the one config loader, so a tenant gets exactly the checks `deskpipe sync` applies.
// Thread-safety: stateless functions. Lifetime: results are the caller's.
#pragma once

#include <optional>
#include <variant>
#include <string>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/status.h"
#include "service/catalog.h"
#include "service/secrets.h"

namespace deskpipe::service {

// A request field that is wrong: which one and why (the handler answers 400 naming it).
struct FieldError {
  std::string field;
  std::string message;
};

// Reads a PUT body over `existing` (fields the body leaves out keep their value; a new tenant needs
// `platform`). Body fields: "platform", the platform's own settings without their prefix ("domain",
// "base_url", "api_key", … for Freshdesk's freshdesk_domain, …), "mode" (hybrid | vector-only), "embedder",
// "api_budget_share" (0, 1], "schedule_seconds" (0 = none, else ≥ 10). Unknown fields are errors. Secrets are
// sealed with `box`. Does not check the settings as a whole: TenantConfig does.
std::variant<TenantRecord, FieldError> TenantFromRequest(const std::string& tenant_id, const nlohmann::json& body,
                                                         const std::optional<TenantRecord>& existing,
                                                         const SecretBox& box);

// The tenant's Config: `server` (the server's sources; its platform settings from the environment are
// dropped, a tenant's come only from its record) plus the tenant's id, platform, settings, opened secrets,
// mode, embedder and budget share. InvalidArgument naming the setting when the loader refuses it.
Result<Config> TenantConfig(const ConfigSources& server, const TenantRecord& tenant, const SecretBox& box);

// A platform's refusal of a tenant's settings (from the config loader or the platform's own checks) as a
// FieldError naming the request field: the platform setting whose key or environment variable the message
// names first ("FRESHDESK_BASE_URL host … is not loopback" ⇒ field "base_url").
FieldError PlatformSettingError(const TenantRecord& tenant, const std::string& message);

// The record as responses show it: no secrets (a "api_key_set": true per sealed secret instead), no hash.
nlohmann::json TenantToJson(const TenantRecord& tenant);

}  // namespace deskpipe::service
