#include "core/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include "core/file_read.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/time.h"

extern char** environ;

namespace deskpipe {
namespace {

using Member = std::variant<std::string Config::*, bool Config::*, int Config::*, double Config::*,
                            std::vector<std::string> Config::*>;

// A config file is a few KB; anything near this is not one (and is never read whole to find out).
constexpr int64_t kMaxConfigFileBytes = 1 << 20;

// One spec entry plus where its value lives in Config.
struct FieldDef {
  ConfigField field;
  Member member;
};

ConfigType TypeOf(const Member& member) {
  switch (member.index()) {
    case 0:
      return ConfigType::kString;
    case 1:
      return ConfigType::kBool;
    case 2:
      return ConfigType::kInt;
    case 3:
      return ConfigType::kDouble;
    default:
      return ConfigType::kStringList;
  }
}

FieldDef Def(std::string key, std::string env, Member member, std::string doc, bool secret = false) {
  ConfigType type = TypeOf(member);
  return FieldDef{ConfigField{std::move(key), std::move(env), type, std::move(doc), secret}, member};
}

// The single registration list: order here is the order of ConfigSpec(), DescribeConfig() and --help.
const std::vector<FieldDef>& Defs() {
  static const std::vector<FieldDef> defs = {
      Def("tenant_id", "TENANT_ID", &Config::tenant_id,
          "Tenant whose data is synced: 1-64 of a-z, 0-9, '-', starting with a letter or digit"),
      Def("platform", "DESKPIPE_PLATFORM", &Config::platform, "Helpdesk platform id (a-z, 0-9): freshdesk"),
      Def("freshdesk_domain", "FRESHDESK_DOMAIN", &Config::freshdesk_domain,
          "Freshdesk account: \"acme\" or \"acme.freshdesk.com\""),
      Def("freshdesk_base_url", "FRESHDESK_BASE_URL", &Config::freshdesk_base_url,
          "Helpdesk root URL overriding the domain (loopback or a host in allowed_hosts)"),
      Def("freshdesk_api_key", "FRESHDESK_API_KEY", &Config::freshdesk_api_key,
          "Freshdesk API key (secret: never printed or logged)", /*secret=*/true),
      Def("allowed_hosts", "DESKPIPE_ALLOWED_HOSTS", &Config::allowed_hosts,
          "Hosts freshdesk_base_url may name besides loopback (comma-separated)"),
      Def("data_dir", "DESKPIPE_DATA_DIR", &Config::data_dir,
          "Directory holding the SQLite store and vector index"),
      Def("store_url", "DESKPIPE_STORE_URL", &Config::store_url,
          "Store URL, sqlite://<path> (sqlite:///abs/path is absolute); default "
          "sqlite://<data_dir>/deskpipe.db"),
      Def("embedder", "DESKPIPE_EMBEDDER", &Config::embedder, "Embedding model used for the vector index"),
      Def("start_date", "DESKPIPE_START_DATE", &Config::start_date,
          "Sync records updated at or after this ISO-8601 time (stored as UTC ...Z)"),
      Def("full_streaming_mode", "ENABLE_FULL_STREAMING_MODE", &Config::full_streaming_mode,
          "true = vector-only mode (minimal SQL); false = hybrid (full records in SQL)"),
      Def("llm_summary", "ENABLE_LLM_SUMMARY_GENERATION", &Config::llm_summary,
          "Generate LLM summaries in hybrid mode"),
      Def("sql_progress_logs", "ENABLE_SQL_PROGRESS_LOGS", &Config::sql_progress_logs,
          "Record sync progress rows in SQL"),
      Def("vector_only_minimal_sql", "VECTOR_ONLY_MODE_MINIMAL_SQL", &Config::vector_only_minimal_sql,
          "In vector-only mode keep only cursors, progress, hashes and dead letters in SQL"),
      Def("vector_db_content_field", "VECTOR_DB_CONTENT_FIELD", &Config::vector_db_content_field,
          "Name of the payload field holding chunk text in the vector store"),
      Def("vector_db_store_original_text", "VECTOR_DB_STORE_ORIGINAL_TEXT",
          &Config::vector_db_store_original_text, "Store the original chunk text alongside each vector"),
      Def("vector_db_include_all_metadata", "VECTOR_DB_INCLUDE_ALL_METADATA",
          &Config::vector_db_include_all_metadata, "Store all record metadata alongside each vector"),
      Def("collection_batch_size", "COLLECTION_BATCH_SIZE", &Config::collection_batch_size,
          "Records per write batch (1..10000)"),
      Def("rate_limit_delay", "RATE_LIMIT_DELAY", &Config::rate_limit_delay,
          "Seconds to wait between API requests (>= 0)"),
      Def("max_concurrent_requests", "MAX_CONCURRENT_REQUESTS", &Config::max_concurrent_requests,
          "Concurrent API requests per account (1..64)"),
      Def("unreachable_timeout", "DESKPIPE_UNREACHABLE_TIMEOUT", &Config::unreachable_timeout,
          "Seconds an unreachable helpdesk (circuit breaker open) is retried before the sync fails (1..86400)"),
      Def("api_budget_share", "DESKPIPE_API_BUDGET_SHARE", &Config::api_budget_share,
          "Fraction of the account's API budget deskpipe may use, (0, 1]; the rest is left to other apps"),
      Def("log_format", "DESKPIPE_LOG_FORMAT", &Config::log_format, "Log format: text or json"),
      Def("log_level", "DESKPIPE_LOG_LEVEL", &Config::log_level,
          "Log level: trace, debug, info, warn or error"),
      Def("openai_base_url", "OPENAI_BASE_URL", &Config::openai_base_url,
          "OpenAI-compatible API root for embedder openai (https, or http to loopback)"),
      Def("openai_api_key", "OPENAI_API_KEY", &Config::openai_api_key,
          "API key for openai_base_url (secret: never printed or logged)", /*secret=*/true),
      Def("openai_embedding_model", "OPENAI_EMBEDDING_MODEL", &Config::openai_embedding_model,
          "Embedding model name sent to openai_base_url"),
      Def("openai_embedding_dimension", "OPENAI_EMBEDDING_DIMENSION", &Config::openai_embedding_dimension,
          "Vector width for embedder openai; 0 = the model's own (asked of the server when unknown)"),
      Def("llm_summary_url", "LLM_SUMMARY_URL", &Config::llm_summary_url,
          "OpenAI-compatible API root for thread summaries: POST {url}/chat/completions (https, or http to "
          "loopback)"),
      Def("llm_summary_model", "LLM_SUMMARY_MODEL", &Config::llm_summary_model,
          "Chat model that writes thread summaries"),
      Def("llm_summary_api_key", "LLM_SUMMARY_API_KEY", &Config::llm_summary_api_key,
          "API key for llm_summary_url (secret: never printed or logged)", /*secret=*/true),
      Def("llm_summary_timeout", "LLM_SUMMARY_TIMEOUT", &Config::llm_summary_timeout,
          "Seconds one summary request may take, connect included, (0, 600]"),
      Def("llm_summary_max_concurrent", "LLM_SUMMARY_MAX_CONCURRENT", &Config::llm_summary_max_concurrent,
          "Summary requests in flight per batch (1..64)"),
      Def("attachment_max_bytes", "DESKPIPE_ATTACHMENT_MAX_BYTES", &Config::attachment_max_bytes,
          "Largest attachment downloaded, in bytes, checked before download (>= 0; 0 = none are downloaded)"),
      Def("index_drafts", "DESKPIPE_INDEX_DRAFTS", &Config::index_drafts,
          "Index draft knowledge-base articles like published ones (else kept apart, not searchable)"),
      Def("reconcile_interval", "DESKPIPE_RECONCILE_INTERVAL", &Config::reconcile_interval,
          "Seconds between reconciliation sweeps over stored tickets (deletes, archive) (>= 0)"),
      Def("reconcile_max_probes", "DESKPIPE_RECONCILE_MAX_PROBES", &Config::reconcile_max_probes,
          "Ticket views one sync may spend on the reconciliation sweep (>= 0; 0 = no sweep)"),
  };
  return defs;
}

const FieldDef* FindByKey(std::string_view key) {
  for (const FieldDef& def : Defs()) {
    if (def.field.key == key) return &def;
  }
  return nullptr;
}

std::string FlagName(std::string_view key) {
  std::string flag = "--";
  for (char c : key) flag += c == '_' ? '-' : c;
  return flag;
}

// How a value appears in an error message: quoted, or hidden for secrets.
std::string Shown(const ConfigField& field, std::string_view value) {
  if (field.secret) return "(value not shown: secret)";
  return "'" + std::string(value) + "'";
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

std::optional<bool> ParseBool(std::string_view text) {
  const std::string v = Lower(text);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return std::nullopt;
}

std::optional<int> ParseInt(std::string_view text) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<double> ParseDouble(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = Trim(text.substr(start, comma - start));
    if (!item.empty()) items.emplace_back(item);
    start = comma + 1;
  }
  return items;
}

Status BadValue(const ConfigField& field, const std::string& source, std::string_view value,
                std::string_view expected) {
  return InvalidArgument(fmt::format("invalid value for {} from {}: {} is not {}", field.key, source,
                                     Shown(field, value), expected));
}

// Sets a field from text given in the environment or on the command line.
Result<void> AssignText(Config& config, const FieldDef& def, std::string_view text,
                        const std::string& source) {
  const ConfigField& field = def.field;
  return std::visit(
      [&](auto member) -> Result<void> {
        using T = std::remove_cvref_t<decltype(config.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          config.*member = std::string(text);
        } else if constexpr (std::is_same_v<T, bool>) {
          std::optional<bool> v = ParseBool(text);
          if (!v) return Error(BadValue(field, source, text, "a boolean (true/false, 1/0, yes/no, on/off)"));
          config.*member = *v;
        } else if constexpr (std::is_same_v<T, int>) {
          std::optional<int> v = ParseInt(text);
          if (!v) return Error(BadValue(field, source, text, "an integer"));
          config.*member = *v;
        } else if constexpr (std::is_same_v<T, double>) {
          std::optional<double> v = ParseDouble(text);
          if (!v) return Error(BadValue(field, source, text, "a number"));
          config.*member = *v;
        } else {
          config.*member = SplitList(text);
        }
        return {};
      },
      def.member);
}

std::string_view TomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

// A TOML scalar as it would be written, for error messages ("" for tables and arrays).
std::string TomlScalarText(const toml::node& node) {
  if (const auto* v = node.as_string()) return "\"" + v->get() + "\"";
  if (const auto* v = node.as_integer()) return std::to_string(v->get());
  if (const auto* v = node.as_floating_point()) return fmt::format("{}", v->get());
  if (const auto* v = node.as_boolean()) return v->get() ? "true" : "false";
  return "";
}

// Sets a field from a TOML value; the TOML type must match the field's type.
Result<void> AssignToml(Config& config, const FieldDef& def, const toml::node& node,
                        const std::string& source) {
  const ConfigField& field = def.field;
  auto wrong_type = [&](std::string_view expected) {
    const std::string text = TomlScalarText(node);
    const std::string got = text.empty() ? std::string(TomlTypeName(node))
                                         : fmt::format("{} {}", TomlTypeName(node), Shown(field, text));
    return Error(InvalidArgument(fmt::format("invalid value for {} in {} (line {}): expected {}, got {}",
                                             field.key, source, node.source().begin.line, expected, got)));
  };
  return std::visit(
      [&](auto member) -> Result<void> {
        using T = std::remove_cvref_t<decltype(config.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          const auto* v = node.as_string();
          if (!v) return wrong_type("a string");
          config.*member = v->get();
        } else if constexpr (std::is_same_v<T, bool>) {
          const auto* v = node.as_boolean();
          if (!v) return wrong_type("a boolean");
          config.*member = v->get();
        } else if constexpr (std::is_same_v<T, int>) {
          const auto* v = node.as_integer();
          if (!v) return wrong_type("an integer");
          const int64_t n = v->get();
          if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
            return Error(InvalidArgument(
                fmt::format("invalid value for {} in {} (line {}): {} is out of range", field.key, source,
                            node.source().begin.line, Shown(field, std::to_string(n)))));
          }
          config.*member = static_cast<int>(n);
        } else if constexpr (std::is_same_v<T, double>) {
          if (const auto* i = node.as_integer()) {
            config.*member = static_cast<double>(i->get());
          } else if (const auto* f = node.as_floating_point()) {
            if (!std::isfinite(f->get())) return wrong_type("a finite number");
            config.*member = f->get();
          } else {
            return wrong_type("a number");
          }
        } else {
          const auto* array = node.as_array();
          if (!array) return wrong_type("an array of strings");
          std::vector<std::string> items;
          for (const toml::node& item : *array) {
            const auto* s = item.as_string();
            if (!s) return wrong_type("an array of strings");
            items.push_back(s->get());
          }
          config.*member = std::move(items);
        }
        return {};
      },
      def.member);
}

// The line (1-based) of `text`, or "" when out of range.
std::string_view LineOf(std::string_view text, size_t line) {
  size_t start = 0;
  for (size_t i = 1; i < line; ++i) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  size_t end = text.find('\n', start);
  return text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

// True when a TOML line assigns a secret key (so toml++'s description of it may quote the secret).
bool MentionsSecretKey(std::string_view line) {
  for (const FieldDef& def : Defs()) {
    if (def.field.secret && line.find(def.field.key) != std::string_view::npos) return true;
  }
  return false;
}

Result<void> LoadFile(Config& config, const std::string& path, std::map<std::string, std::string>& origin) {
  auto read = ReadRegularFile(path, kMaxConfigFileBytes, "1 MiB (the limit for a config file)");
  if (!read) return Error(InvalidArgument("cannot read config file: " + read.error().message()));
  const std::string text = std::move(*read);

  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    // toml++ may quote the offending text; on a line that sets a secret, leave its description out.
    std::string description = MentionsSecretKey(LineOf(text, begin.line))
                                  ? "syntax error on a line setting a secret (value not shown)"
                                  : std::string(e.description());
    return Error(InvalidArgument(fmt::format("cannot parse config file '{}' at {}:{}: {}", path, begin.line,
                                             begin.column, description)));
  } catch (const std::exception& e) {
    return Error(InvalidArgument(fmt::format("cannot parse config file '{}': {}", path, e.what())));
  }

  const std::string source = "config file '" + path + "'";
  for (auto&& [key, node] : table) {
    const FieldDef* def = FindByKey(key.str());
    if (def == nullptr) {
      return Error(InvalidArgument(fmt::format("unknown key '{}' in config file '{}' (line {})", key.str(),
                                               path, key.source().begin.line)));
    }
    RETURN_IF_ERROR(AssignToml(config, *def, node, source));
    origin[def->field.key] = source;
  }
  return {};
}

// Post-merge checks. `origin` says where each non-default value came from.
Result<void> Validate(Config& config, const std::map<std::string, std::string>& origin) {
  auto fail = [&](std::string_view key, const std::string& why) {
    auto it = origin.find(std::string(key));
    const std::string from = it == origin.end() ? "default" : it->second;
    return Error(InvalidArgument(fmt::format("invalid {} (from {}): {}", key, from, why)));
  };
  if (auto r = ValidateTenantId(config.tenant_id); !r) return fail("tenant_id", r.error().message());
  if (auto r = ValidatePlatformId(config.platform); !r) return fail("platform", r.error().message());
  if (config.log_format != "text" && config.log_format != "json") {
    return fail("log_format", "'" + config.log_format + "' is not one of text, json");
  }
  static const char* const kLevels[] = {"trace", "debug", "info", "warn", "error"};
  bool level_ok = false;
  for (const char* level : kLevels) level_ok = level_ok || config.log_level == level;
  if (!level_ok)
    return fail("log_level", "'" + config.log_level + "' is not one of trace, debug, info, warn, error");
  if (config.collection_batch_size < 1 || config.collection_batch_size > 10000) {
    return fail("collection_batch_size",
                std::to_string(config.collection_batch_size) + " is not in 1..10000");
  }
  if (config.max_concurrent_requests < 1 || config.max_concurrent_requests > 64) {
    return fail("max_concurrent_requests",
                std::to_string(config.max_concurrent_requests) + " is not in 1..64");
  }
  if (config.unreachable_timeout < 1 || config.unreachable_timeout > 86400) {
    return fail("unreachable_timeout", std::to_string(config.unreachable_timeout) + " is not in 1..86400");
  }
  if (!(config.api_budget_share > 0 && config.api_budget_share <= 1)) {
    return fail("api_budget_share", fmt::format("{} is not in (0, 1]", config.api_budget_share));
  }
  if (!(config.rate_limit_delay >= 0)) {
    return fail("rate_limit_delay", fmt::format("{} is negative", config.rate_limit_delay));
  }
  auto start = NormalizeTimestamp(config.start_date);
  if (!start) return fail("start_date", start.error().message());
  config.start_date = *start;
  if (config.vector_db_content_field.empty()) return fail("vector_db_content_field", "must not be empty");
  if (!(config.llm_summary_timeout > 0 && config.llm_summary_timeout <= 600)) {
    return fail("llm_summary_timeout", fmt::format("{} is not in (0, 600]", config.llm_summary_timeout));
  }
  if (config.llm_summary_max_concurrent < 1 || config.llm_summary_max_concurrent > 64) {
    return fail("llm_summary_max_concurrent",
                std::to_string(config.llm_summary_max_concurrent) + " is not in 1..64");
  }
  if (config.llm_summary && config.llm_summary_model.empty()) {
    return fail("llm_summary_model", "must not be empty when llm_summary is on");
  }
  const std::pair<const char*, int> counts[] = {{"attachment_max_bytes", config.attachment_max_bytes},
                                                {"reconcile_interval", config.reconcile_interval},
                                                {"reconcile_max_probes", config.reconcile_max_probes}};
  for (const auto& [key, value] : counts) {
    if (value < 0) return fail(key, std::to_string(value) + " is negative");
  }
  return {};
}

std::string ValueText(const Config& config, const FieldDef& def) {
  return std::visit(
      [&](auto member) -> std::string {
        using T = std::remove_cvref_t<decltype(config.*member)>;
        const T& value = config.*member;
        if constexpr (std::is_same_v<T, std::string>) {
          return value;
        } else if constexpr (std::is_same_v<T, bool>) {
          return value ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          return fmt::format("{}", fmt::join(value, ","));
        } else {
          return fmt::format("{}", value);
        }
      },
      def.member);
}

}  // namespace

std::string Config::EffectiveStoreUrl() const {
  if (!store_url.empty()) return store_url;
  return "sqlite://" + data_dir + "/deskpipe.db";
}

const std::vector<ConfigField>& ConfigSpec() {
  static const std::vector<ConfigField> spec = [] {
    std::vector<ConfigField> fields;
    for (const FieldDef& def : Defs()) fields.push_back(def.field);
    return fields;
  }();
  return spec;
}

Result<Config> LoadConfig(const ConfigSources& sources) {
  // Reject unknown flags first: a typo on the command line is the likeliest mistake.
  std::vector<std::pair<const FieldDef*, const std::string*>> flags;
  std::vector<std::string> unknown;
  for (const auto& [name, value] : sources.flags) {
    std::string key = name;
    if (key.rfind("--", 0) == 0) key = key.substr(2);
    for (char& c : key) c = c == '-' ? '_' : c;
    const FieldDef* def = FindByKey(key);
    if (def == nullptr) {
      unknown.push_back(FlagName(key));
    } else {
      flags.emplace_back(def, &value);
    }
  }
  if (!unknown.empty()) {
    return Error(InvalidArgument(
        fmt::format("unknown flag{} {}", unknown.size() > 1 ? "s" : "", fmt::join(unknown, ", "))));
  }

  Config config;
  std::map<std::string, std::string> origin;
  if (sources.file) RETURN_IF_ERROR(LoadFile(config, *sources.file, origin));

  for (const FieldDef& def : Defs()) {
    auto it = sources.env.find(def.field.env);
    if (it == sources.env.end() || it->second.empty()) continue;  // empty = unset
    const std::string source = "env " + def.field.env;
    RETURN_IF_ERROR(AssignText(config, def, it->second, source));
    origin[def.field.key] = source;
  }

  for (const auto& [def, value] : flags) {
    const std::string source = "flag " + FlagName(def->field.key);
    RETURN_IF_ERROR(AssignText(config, *def, *value, source));
    origin[def->field.key] = source;
  }

  RETURN_IF_ERROR(Validate(config, origin));
  return config;
}

std::map<std::string, std::string> ReadEnvironment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view item(*entry);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = item.substr(0, eq);
    for (const FieldDef& def : Defs()) {
      if (def.field.env == name) {
        env[std::string(name)] = std::string(item.substr(eq + 1));
        break;
      }
    }
  }
  return env;
}

std::string DescribeConfig(const Config& config) {
  std::string out;
  for (const FieldDef& def : Defs()) {
    std::string value = ValueText(config, def);
    if (def.field.secret) value = value.empty() ? "(unset)" : "***";
    out += def.field.key + " = " + value + "\n";
  }
  return out;
}

void RegisterLogSecrets(const Config& config) {
  for (const FieldDef& def : Defs()) {
    if (def.field.secret) log::AddSecret(ValueText(config, def));
  }
}

std::string RedactSecrets(const Config& config, std::string text) {
  for (const FieldDef& def : Defs()) {
    if (!def.field.secret) continue;
    const std::string secret = ValueText(config, def);
    if (secret.empty()) continue;
    for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

}  // namespace deskpipe
