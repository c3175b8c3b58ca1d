#include "service/tenant_settings.h"

#include <algorithm>
#include <ctime>
#include <set>

#include <fmt/format.h>

#include "app/config_sections.h"
#include "platforms/registry.h"

namespace deskpipe::service {

namespace {

const PlatformDefinition* FindPlatform(const std::string& id) {
  for (const PlatformDefinition& platform : PlatformList()) {
    if (id == platform.id) return &platform;
  }
  return nullptr;
}

// A JSON value as the loader's text for a setting of `type`; nullopt when the JSON type does not fit.
std::optional<std::string> SettingText(const nlohmann::json& value, ConfigType type) {
  switch (type) {
    case ConfigType::kString:
      if (value.is_string()) return value.get<std::string>();
      break;
    case ConfigType::kBool:
      if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
      break;
    case ConfigType::kInt:
      if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
      break;
    case ConfigType::kDouble:
      if (value.is_number()) return fmt::format("{}", value.get<double>());
      break;
    case ConfigType::kStringList:
      if (value.is_array()) {
        std::string joined;
        for (const auto& item : value) {
          if (!item.is_string()) return std::nullopt;
          joined += (joined.empty() ? "" : ",") + item.get<std::string>();
        }
        return joined;
      }
      break;
  }
  return std::nullopt;
}

const char* TypeWord(ConfigType type) {
  switch (type) {
    case ConfigType::kString: return "a string";
    case ConfigType::kBool: return "true or false";
    case ConfigType::kInt: return "an integer";
    case ConfigType::kDouble: return "a number";
    case ConfigType::kStringList: return "an array of strings";
  }
  return "a value";
}

}  // namespace

std::variant<TenantRecord, FieldError> TenantFromRequest(const std::string& tenant_id, const nlohmann::json& body,
                                                         const std::optional<TenantRecord>& existing,
                                                         const SecretBox& box) {
  if (!body.is_object()) return FieldError{"", "the body must be a JSON object"};
  TenantRecord tenant = existing.value_or(TenantRecord{});
  tenant.tenant_id = tenant_id;

  if (body.contains("platform")) {
    if (!body["platform"].is_string()) return FieldError{"platform", "must be a string"};
    const std::string platform = body["platform"].get<std::string>();
    if (existing && platform != existing->platform) {
      return FieldError{"platform", fmt::format("tenant {} is on {}; delete it to move it to {}", tenant_id,
                                                existing->platform, platform)};
    }
    tenant.platform = platform;
  } else if (!existing) {
    return FieldError{"platform", "required for a new tenant (e.g. \"freshdesk\")"};
  }
  const PlatformDefinition* platform = FindPlatform(tenant.platform);
  if (platform == nullptr) {
    std::string known;
    for (const std::string& id : RegisteredPlatforms()) known += (known.empty() ? "" : ", ") + id;
    return FieldError{"platform", fmt::format("unknown platform \"{}\" (known: {})", tenant.platform, known)};
  }
  const ConfigSection section = platform->settings();
  const std::string prefix = tenant.platform + "_";

  for (const auto& [field, value] : body.items()) {
    if (field == "platform") continue;
    if (field == "mode") {
      if (!value.is_string() || (value != "hybrid" && value != "vector-only")) {
        return FieldError{field, "must be \"hybrid\" or \"vector-only\""};
      }
      tenant.mode = value.get<std::string>();
    } else if (field == "embedder") {
      if (!value.is_string()) return FieldError{field, "must be a string"};
      tenant.embedder = value.get<std::string>();
    } else if (field == "api_budget_share") {
      if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 1) {
        return FieldError{field, "must be a number in (0, 1]"};
      }
      tenant.api_budget_share = value.get<double>();
    } else if (field == "schedule_seconds") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          (value.get<int64_t>() > 0 && value.get<int64_t>() < 10)) {
        return FieldError{field, "must be 0 (no schedule) or an integer of at least 10"};
      }
      tenant.schedule_seconds = value.get<int64_t>();
    } else {
      const ConfigField* declared = nullptr;
      for (const ConfigField& candidate : section.fields) {
        if (candidate.key == prefix + field) declared = &candidate;
      }
      if (declared == nullptr) {
        std::string known = "platform, mode, embedder, api_budget_share, schedule_seconds";
        for (const ConfigField& candidate : section.fields) known += ", " + candidate.key.substr(prefix.size());
        return FieldError{field, fmt::format("unknown field (known: {})", known)};
      }
      if (value.is_null()) {  // null clears a setting back to its default
        tenant.settings.erase(declared->key);
        tenant.sealed_secrets.erase(declared->key);
        continue;
      }
      std::optional<std::string> text = SettingText(value, declared->type);
      if (!text) return FieldError{field, fmt::format("must be {}", TypeWord(declared->type))};
      if (declared->secret) {
        tenant.sealed_secrets[declared->key] = box.Seal(*text);
      } else {
        tenant.settings[declared->key] = *text;
      }
    }
  }
  return tenant;
}

Result<Config> TenantConfig(const ConfigSources& server, const TenantRecord& tenant, const SecretBox& box) {
  ConfigSources sources = server;
  // The server's own platform settings (its environment's FRESHDESK_API_KEY, …) never reach a tenant.
  std::set<std::string> platform_env;
  for (const ConfigSection& section : PlatformConfigSections()) {
    for (const ConfigField& field : section.fields) {
      platform_env.insert(field.env);
      sources.flags.erase(field.key);
    }
  }
  for (const std::string& name : platform_env) sources.env.erase(name);

  sources.flags["tenant_id"] = tenant.tenant_id;
  sources.flags["platform"] = tenant.platform;
  for (const auto& [key, text] : tenant.settings) sources.flags[key] = text;
  for (const auto& [key, sealed] : tenant.sealed_secrets) {
    ASSIGN_OR_RETURN(std::string secret, box.Open(sealed));
    sources.flags[key] = std::move(secret);
  }
  sources.flags["full_streaming_mode"] = tenant.mode == "vector-only" ? "true" : "false";
  if (!tenant.embedder.empty()) sources.flags["embedder"] = tenant.embedder;
  if (tenant.api_budget_share > 0) sources.flags["api_budget_share"] = fmt::format("{}", tenant.api_budget_share);
  return app::LoadConfig(sources);
}

FieldError PlatformSettingError(const TenantRecord& tenant, const std::string& message) {
  const PlatformDefinition* platform = FindPlatform(tenant.platform);
  if (platform != nullptr) {
    // The setting named first: a message may go on to suggest another one ("… or use FRESHDESK_DOMAIN").
    const std::string prefix = tenant.platform + "_";
    size_t first = std::string::npos;
    std::string name;
    for (const ConfigField& field : platform->settings().fields) {
      const size_t at = std::min(message.find(field.env), message.find(field.key));
      if (at < first) {
        first = at;
        name = field.key.substr(prefix.size());
      }
    }
    if (!name.empty()) return FieldError{name, name + ": " + message};
  }
  return FieldError{"", message};
}

nlohmann::json TenantToJson(const TenantRecord& tenant) {
  const std::string prefix = tenant.platform + "_";
  nlohmann::json out = {{"tenant_id", tenant.tenant_id}, {"platform", tenant.platform}};
  for (const auto& [key, text] : tenant.settings) {
    out[key.rfind(prefix, 0) == 0 ? key.substr(prefix.size()) : key] = text;
  }
  for (const auto& [key, sealed] : tenant.sealed_secrets) {
    out[(key.rfind(prefix, 0) == 0 ? key.substr(prefix.size()) : key) + "_set"] = true;
  }
  out["mode"] = tenant.mode;
  out["embedder"] = tenant.embedder.empty() ? nlohmann::json(nullptr) : nlohmann::json(tenant.embedder);
  out["api_budget_share"] = tenant.api_budget_share > 0 ? nlohmann::json(tenant.api_budget_share) : nullptr;
  out["schedule_seconds"] = tenant.schedule_seconds;
  out["created_at"] = tenant.created_at;
  out["updated_at"] = tenant.updated_at;
  return out;
}

}  // namespace deskpipe::service
