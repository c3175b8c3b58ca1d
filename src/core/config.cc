#include "core/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <system_error>
#include <tuple>
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

struct Flag {
  std::string name;  // without "--"
  FlagScope scope = FlagScope::kNone;
};

ConfigValue ValueOf(const Config& config, const Member& member) {
  return std::visit([&](auto m) { return ConfigValue(config.*m); }, member);
}

FieldDef Def(std::string key, std::string env, Member member, std::string doc, Flag flag = {}) {
  static const Config defaults;
  ConfigField field{.key = std::move(key),
                    .env = std::move(env),
                    .type = TypeOf(member),
                    .doc = std::move(doc),
                    .secret = false,
                    .flag = std::move(flag.name),
                    .flag_scope = flag.scope,
                    .default_value = ValueOf(defaults, member)};
  return FieldDef{std::move(field), member};
}

// Core's registration list: order here is the order of ConfigSpec(), DescribeConfig() and --help. The
// components' settings are declared beside their code (ConfigSection).
const std::vector<FieldDef>& Defs() {
  static const std::vector<FieldDef> defs = {
      Def("tenant_id", "TENANT_ID", &Config::tenant_id,
          "Tenant whose data is synced: 1-64 of a-z, 0-9, '-', starting with a letter or digit",
          {"tenant", FlagScope::kTenant}),
      Def("platform", "DESKPIPE_PLATFORM", &Config::platform,
          "Helpdesk platform id (a-z, 0-9), one of the registered platforms", {"platform", FlagScope::kSource}),
      Def("allowed_hosts", "DESKPIPE_ALLOWED_HOSTS", &Config::allowed_hosts,
          "Hosts a platform's base URL (freshdesk_base_url) may name besides loopback (comma-separated)"),
      Def("data_dir", "DESKPIPE_DATA_DIR", &Config::data_dir,
          "Directory holding the SQLite store and vector index", {"data-dir", FlagScope::kTenant}),
      Def("store_url", "DESKPIPE_STORE_URL", &Config::store_url,
          "Store URL, sqlite://<path> (sqlite:///abs/path is absolute) or postgresql://...; default "
          "sqlite://<data_dir>/deskpipe.db",
          {"store", FlagScope::kTenant}),
      Def("embedder", "DESKPIPE_EMBEDDER", &Config::embedder,
          "Embedding model used for the vector index: use-lite (default), hashing or openai",
          {"embedder", FlagScope::kTenant}),
      Def("start_date", "DESKPIPE_START_DATE", &Config::start_date,
          "Sync records updated at or after this ISO-8601 time (stored as UTC ...Z; default: all)",
          {"start-date", FlagScope::kSource}),
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
          "Records per write batch (1..10000)", {"batch-size", FlagScope::kSource}),
      Def("rate_limit_delay", "RATE_LIMIT_DELAY", &Config::rate_limit_delay,
          "Seconds to wait between API requests (>= 0)"),
      Def("max_concurrent_requests", "MAX_CONCURRENT_REQUESTS", &Config::max_concurrent_requests,
          "Concurrent API requests per account (1..64)"),
      Def("unreachable_timeout", "DESKPIPE_UNREACHABLE_TIMEOUT", &Config::unreachable_timeout,
          "Seconds an unreachable helpdesk (circuit breaker open) is retried before the sync fails (1..86400; "
          "default 600)",
          {"unreachable-timeout", FlagScope::kSource}),
      Def("api_budget_share", "DESKPIPE_API_BUDGET_SHARE", &Config::api_budget_share,
          "Fraction of the account's API budget deskpipe may use, (0, 1] (default 1.0); the rest is left to "
          "other apps",
          {"api-budget-share", FlagScope::kSource}),
      Def("log_format", "DESKPIPE_LOG_FORMAT", &Config::log_format, "Log format: text or json",
          {"log-format", FlagScope::kGlobal}),
      Def("log_level", "DESKPIPE_LOG_LEVEL", &Config::log_level,
          "Log level: trace, debug, info, warn or error", {"log-level", FlagScope::kGlobal}),
  };
  return defs;
}

// A declared setting: core's (with the Config member holding it) or a component's (member null: its value
// lives in Config::components).
struct Known {
  const ConfigField* field;
  const Member* member;
};

// Core's settings, then each section's, checked for clashes: two declarations of one key, environment
// variable or flag would make a source ambiguous.
Result<std::vector<Known>> KnownFields(std::span<const ConfigSection> sections) {
  std::vector<Known> known;
  for (const FieldDef& def : Defs()) known.push_back({&def.field, &def.member});
  for (const ConfigSection& section : sections) {
    for (const ConfigField& field : section.fields) known.push_back({&field, nullptr});
  }
  std::map<std::string, std::string> keys, envs, flags;
  for (const Known& k : known) {
    const ConfigField& f = *k.field;
    for (auto [seen, name, what] : {std::tuple{&keys, f.key, "key"}, std::tuple{&envs, f.env, "environment variable"},
                                    std::tuple{&flags, f.flag, "flag"}}) {
      if (name.empty()) continue;
      auto [it, added] = seen->emplace(name, f.key);
      if (!added) {
        return Error(Internal(fmt::format("config {} '{}' is declared by both {} and {}", what, name, it->second,
                                          f.key)));
      }
    }
  }
  return known;
}

const Known* Find(const std::vector<Known>& known, std::string_view key) {
  for (const Known& k : known) {
    if (k.field->key == key) return &k;
  }
  return nullptr;
}

std::string FlagOf(std::string_view key) {
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

// Reads a field's value from text given in the environment or on the command line.
Result<ConfigValue> ParseText(const ConfigField& field, std::string_view text, const std::string& source) {
  switch (field.type) {
    case ConfigType::kString:
      return ConfigValue(std::string(text));
    case ConfigType::kBool: {
      std::optional<bool> v = ParseBool(text);
      if (!v) return Error(BadValue(field, source, text, "a boolean (true/false, 1/0, yes/no, on/off)"));
      return ConfigValue(*v);
    }
    case ConfigType::kInt: {
      std::optional<int> v = ParseInt(text);
      if (!v) return Error(BadValue(field, source, text, "an integer"));
      return ConfigValue(*v);
    }
    case ConfigType::kDouble: {
      std::optional<double> v = ParseDouble(text);
      if (!v) return Error(BadValue(field, source, text, "a number"));
      return ConfigValue(*v);
    }
    case ConfigType::kStringList:
      return ConfigValue(SplitList(text));
  }
  return Error(Internal("unknown config type of " + field.key));
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

// Reads a field's value from a TOML value; the TOML type must match the field's type.
Result<ConfigValue> ParseToml(const ConfigField& field, const toml::node& node, const std::string& source) {
  auto wrong_type = [&](std::string_view expected) {
    const std::string text = TomlScalarText(node);
    const std::string got = text.empty() ? std::string(TomlTypeName(node))
                                         : fmt::format("{} {}", TomlTypeName(node), Shown(field, text));
    return Error(InvalidArgument(fmt::format("invalid value for {} in {} (line {}): expected {}, got {}",
                                             field.key, source, node.source().begin.line, expected, got)));
  };
  switch (field.type) {
    case ConfigType::kString: {
      const auto* v = node.as_string();
      if (!v) return wrong_type("a string");
      return ConfigValue(v->get());
    }
    case ConfigType::kBool: {
      const auto* v = node.as_boolean();
      if (!v) return wrong_type("a boolean");
      return ConfigValue(v->get());
    }
    case ConfigType::kInt: {
      const auto* v = node.as_integer();
      if (!v) return wrong_type("an integer");
      const int64_t n = v->get();
      if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
        return Error(InvalidArgument(fmt::format("invalid value for {} in {} (line {}): {} is out of range",
                                                 field.key, source, node.source().begin.line,
                                                 Shown(field, std::to_string(n)))));
      }
      return ConfigValue(static_cast<int>(n));
    }
    case ConfigType::kDouble: {
      if (const auto* i = node.as_integer()) return ConfigValue(static_cast<double>(i->get()));
      const auto* f = node.as_floating_point();
      if (!f) return wrong_type("a number");
      if (!std::isfinite(f->get())) return wrong_type("a finite number");
      return ConfigValue(f->get());
    }
    case ConfigType::kStringList: {
      const auto* array = node.as_array();
      if (!array) return wrong_type("an array of strings");
      std::vector<std::string> items;
      for (const toml::node& item : *array) {
        const auto* v = item.as_string();
        if (!v) return wrong_type("an array of strings");
        items.push_back(v->get());
      }
      return ConfigValue(std::move(items));
    }
  }
  return Error(Internal("unknown config type of " + field.key));
}

// Stores a value read for `known` in its Config member or among the components' values.
void Store(Config& config, const Known& known, ConfigValue value) {
  if (known.member == nullptr) {
    config.components.Set(known.field->key, std::move(value), known.field->secret);
    return;
  }
  std::visit(
      [&](auto member) {
        using T = std::remove_cvref_t<decltype(config.*member)>;
        config.*member = std::get<T>(std::move(value));
      },
      *known.member);
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
bool MentionsSecretKey(const std::vector<Known>& known, std::string_view line) {
  for (const Known& k : known) {
    if (k.field->secret && line.find(k.field->key) != std::string_view::npos) return true;
  }
  return false;
}

Result<void> LoadFile(Config& config, const std::vector<Known>& known, const std::string& path,
                      std::map<std::string, std::string>& origin) {
  auto read = ReadRegularFile(path, kMaxConfigFileBytes, "1 MiB (the limit for a config file)");
  if (!read) return Error(InvalidArgument("cannot read config file: " + read.error().message()));
  const std::string text = std::move(*read);

  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    // toml++ may quote the offending text; on a line that sets a secret, leave its description out.
    std::string description = MentionsSecretKey(known, LineOf(text, begin.line))
                                  ? "syntax error on a line setting a secret (value not shown)"
                                  : std::string(e.description());
    return Error(InvalidArgument(fmt::format("cannot parse config file '{}' at {}:{}: {}", path, begin.line,
                                             begin.column, description)));
  } catch (const std::exception& e) {
    return Error(InvalidArgument(fmt::format("cannot parse config file '{}': {}", path, e.what())));
  }

  const std::string source = "config file '" + path + "'";
  for (auto&& [key, node] : table) {
    const Known* k = Find(known, key.str());
    if (k == nullptr) {
      return Error(InvalidArgument(fmt::format("unknown key '{}' in config file '{}' (line {})", key.str(),
                                               path, key.source().begin.line)));
    }
    ASSIGN_OR_RETURN(ConfigValue value, ParseToml(*k->field, node, source));
    Store(config, *k, std::move(value));
    origin[k->field->key] = source;
  }
  return {};
}

// Post-merge checks. `origin` says where each non-default value came from.
Result<void> Validate(Config& config, std::span<const ConfigSection> sections,
                      const std::map<std::string, std::string>& origin) {
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
  for (const ConfigSection& section : sections) {
    if (!section.check) continue;
    if (std::optional<ConfigProblem> problem = section.check(config)) return fail(problem->key, problem->why);
  }
  return {};
}

std::string ValueText(const ConfigValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::remove_cvref_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          return fmt::format("{}", fmt::join(v, ","));
        } else {
          return fmt::format("{}", v);
        }
      },
      value);
}

// Every setting of `config` as (key, value, secret): core's, then the components'.
std::vector<std::tuple<std::string, ConfigValue, bool>> Settings(const Config& config) {
  std::vector<std::tuple<std::string, ConfigValue, bool>> settings;
  for (const FieldDef& def : Defs()) {
    settings.emplace_back(def.field.key, ValueOf(config, def.member), def.field.secret);
  }
  for (const ComponentValues::Entry& entry : config.components.entries()) {
    settings.emplace_back(entry.key, entry.value, entry.secret);
  }
  return settings;
}

}  // namespace

void ComponentValues::Set(std::string_view key, ConfigValue value, bool secret) {
  for (Entry& entry : entries_) {
    if (entry.key == key) {
      entry.value = std::move(value);
      entry.secret = entry.secret || secret;
      return;
    }
  }
  entries_.push_back(Entry{std::string(key), std::move(value), secret});
}

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

std::vector<ConfigField> ConfigFields(std::span<const ConfigSection> sections) {
  std::vector<ConfigField> fields = ConfigSpec();
  for (const ConfigSection& section : sections) {
    fields.insert(fields.end(), section.fields.begin(), section.fields.end());
  }
  return fields;
}

Result<Config> LoadConfig(const ConfigSources& sources, std::span<const ConfigSection> sections) {
  ASSIGN_OR_RETURN(const std::vector<Known> known, KnownFields(sections));
  // Reject unknown flags first: a typo on the command line is the likeliest mistake.
  std::vector<std::pair<const Known*, const std::string*>> flags;
  std::vector<std::string> unknown;
  for (const auto& [name, value] : sources.flags) {
    std::string key = name;
    if (key.rfind("--", 0) == 0) key = key.substr(2);
    for (char& c : key) c = c == '-' ? '_' : c;
    const Known* k = Find(known, key);
    if (k == nullptr) {
      unknown.push_back(FlagOf(key));
    } else {
      flags.emplace_back(k, &value);
    }
  }
  if (!unknown.empty()) {
    return Error(InvalidArgument(
        fmt::format("unknown flag{} {}", unknown.size() > 1 ? "s" : "", fmt::join(unknown, ", "))));
  }

  Config config;
  for (const Known& k : known) {
    if (k.member == nullptr) config.components.Set(k.field->key, k.field->default_value, k.field->secret);
  }
  std::map<std::string, std::string> origin;
  if (sources.file) RETURN_IF_ERROR(LoadFile(config, known, *sources.file, origin));

  for (const Known& k : known) {
    auto it = sources.env.find(k.field->env);
    if (it == sources.env.end() || it->second.empty()) continue;  // empty = unset
    const std::string source = "env " + k.field->env;
    ASSIGN_OR_RETURN(ConfigValue value, ParseText(*k.field, it->second, source));
    Store(config, k, std::move(value));
    origin[k.field->key] = source;
  }

  for (const auto& [k, text] : flags) {
    // The flag as the user typed it: a field's CLI name may differ from its key (--tenant for tenant_id).
    const std::string source = "flag " + (k->field->flag.empty() ? FlagOf(k->field->key) : "--" + k->field->flag);
    ASSIGN_OR_RETURN(ConfigValue value, ParseText(*k->field, *text, source));
    Store(config, *k, std::move(value));
    origin[k->field->key] = source;
  }

  RETURN_IF_ERROR(Validate(config, sections, origin));
  return config;
}

std::map<std::string, std::string> ReadEnvironment(std::span<const ConfigSection> sections) {
  const std::vector<ConfigField> fields = ConfigFields(sections);
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view item(*entry);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = item.substr(0, eq);
    for (const ConfigField& field : fields) {
      if (field.env == name) {
        env[std::string(name)] = std::string(item.substr(eq + 1));
        break;
      }
    }
  }
  return env;
}

std::string DescribeConfig(const Config& config) {
  std::string out;
  for (const auto& [key, value, secret] : Settings(config)) {
    std::string text = ValueText(value);
    if (secret) text = text.empty() ? "(unset)" : "***";
    out += key + " = " + text + "\n";
  }
  return out;
}

void RegisterLogSecrets(const Config& config) {
  for (const auto& [key, value, secret] : Settings(config)) {
    if (!secret) continue;
    const std::string text = ValueText(value);
    if (!text.empty() && text.size() < log::kMinMaskedSecretLength) {
      log::Warn("a secret setting is too short to be a real key, and too short to be masked in logs",
                {{"setting", key}, {"length", text.size()}});
    }
    log::AddSecret(text);
  }
}

std::string RedactSecrets(const Config& config, std::string text) {
  for (const auto& [key, value, secret] : Settings(config)) {
    if (!secret) continue;
    const std::string hidden = ValueText(value);
    text = log::MaskSecret(std::move(text), hidden);
  }
  return text;
}

}  // namespace deskpipe
