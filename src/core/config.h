// deskpipe's configuration: core's own settings as typed members of Config, plus the settings each component
// declares beside its code (ConfigSection: the Freshdesk platform's, the OpenAI embedder's, the LLM
// summarizer's), held in Config::components. One loader fills both from a TOML file, then the seed's environment
// variables, then command-line flags (flags win over env over file); the declarations (name, env var, flag,
// type, default, doc, secret) drive validation, the CLI's flags and help, redaction and the log secrets.
// Unknown keys are an error naming the key. Components read their section through a typed struct
// (SettingsBinding in core/settings_binding.h).
// Value types; not synchronized. A ConfigSection's check must be safe to call from any thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace deskpipe {

enum class ConfigType { kString, kBool, kInt, kDouble, kStringList };

// A setting's value; the alternative matches its ConfigType.
using ConfigValue = std::variant<std::string, bool, int, double, std::vector<std::string>>;

// The values of the components' settings, by key, in declaration order. The loader sets every key a section
// declares (to its default when no source gave one); a Config made without the loader holds only what was Set.
class ComponentValues {
 public:
  struct Entry {
    std::string key;
    ConfigValue value;
    bool secret = false;  // never printed or logged
  };

  // The value of `key`; nullptr when it is not set or holds another type than T.
  template <class T>
  const T* Get(std::string_view key) const {
    for (const Entry& entry : entries_) {
      if (entry.key == key) return std::get_if<T>(&entry.value);
    }
    return nullptr;
  }
  // Sets `key` (appended when new). A key once marked secret stays secret.
  void Set(std::string_view key, ConfigValue value, bool secret = false);
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// Core's settings (ConfigSpec) and the components' (components).
struct Config {
  std::string tenant_id = "demo";             // TENANT_ID
  std::string platform = "freshdesk";         // DESKPIPE_PLATFORM
  std::vector<std::string> allowed_hosts;     // DESKPIPE_ALLOWED_HOSTS: hosts a platform's base URL may name
  std::string data_dir = "./deskpipe-data";   // DESKPIPE_DATA_DIR
  std::string store_url;                      // DESKPIPE_STORE_URL; default sqlite://{data_dir}/deskpipe.db
  std::string embedder = "use-lite";          // DESKPIPE_EMBEDDER
  std::string start_date = "1970-01-01T00:00:00Z";  // DESKPIPE_START_DATE
  bool full_streaming_mode = false;           // ENABLE_FULL_STREAMING_MODE (true = vector-only)
  bool llm_summary = false;                   // ENABLE_LLM_SUMMARY_GENERATION
  bool sql_progress_logs = false;             // ENABLE_SQL_PROGRESS_LOGS
  bool vector_only_minimal_sql = true;        // VECTOR_ONLY_MODE_MINIMAL_SQL
  std::string vector_db_content_field = "content";  // VECTOR_DB_CONTENT_FIELD
  bool vector_db_store_original_text = true;  // VECTOR_DB_STORE_ORIGINAL_TEXT
  bool vector_db_include_all_metadata = true; // VECTOR_DB_INCLUDE_ALL_METADATA
  int collection_batch_size = 100;            // COLLECTION_BATCH_SIZE
  double rate_limit_delay = 0;                // RATE_LIMIT_DELAY (seconds between requests)
  int max_concurrent_requests = 4;            // MAX_CONCURRENT_REQUESTS
  int unreachable_timeout = 600;              // DESKPIPE_UNREACHABLE_TIMEOUT: seconds an outage is retried
  double api_budget_share = 1.0;              // DESKPIPE_API_BUDGET_SHARE: fraction of the API budget, (0, 1]
  std::string log_format = "text";            // DESKPIPE_LOG_FORMAT: text | json
  std::string log_level = "info";             // DESKPIPE_LOG_LEVEL

  // The settings components declare (Freshdesk's, OpenAI's, the summarizer's, …), read through each
  // component's own settings struct.
  ComponentValues components;

  // The store URL in effect: store_url, or the SQLite default "sqlite://" + data_dir + "/deskpipe.db".
  // URL form: sqlite://<path>, the path taken as written: sqlite://./deskpipe-data/deskpipe.db is relative,
  // sqlite:///abs/path/deskpipe.db is absolute.
  std::string EffectiveStoreUrl() const;
};

// Which of the CLI's verbs offer a setting's flag.
enum class FlagScope {
  kNone,    // file and environment only
  kGlobal,  // the top-level command, before the verb (deskpipe --log-level debug sync)
  kTenant,  // every verb that works on a tenant (sync, search, status, …)
  kSource,  // the verbs that read the platform (sync, retry-failed)
};

// One configurable setting.
struct ConfigField {
  std::string key;  // TOML key; also accepted as a flag with '_' → '-' by LoadConfig ("tenant_id" ⇔ tenant-id)
  std::string env;  // environment variable
  ConfigType type = ConfigType::kString;
  std::string doc;
  bool secret = false;  // never printed: shown as "***", redacted from logs and errors
  std::string flag;     // the CLI's name for it, without "--" ("api-key"); empty: no CLI flag
  FlagScope flag_scope = FlagScope::kNone;
  ConfigValue default_value;
};

// A check over the loaded Config that found a setting wrong: which key and why (the loader adds where the value
// came from).
struct ConfigProblem {
  std::string key;
  std::string why;
};

// The settings of one component, declared beside its code and handed to the loader by whoever assembles the
// program's components (app/config_sections.h).
struct ConfigSection {
  std::string name;  // "freshdesk", "openai", "llm_summary": for messages
  std::vector<ConfigField> fields;
  // Runs after loading, over the whole Config (a component may depend on core modes). May be empty.
  std::function<std::optional<ConfigProblem>(const Config&)> check;
};

// Core's own settings, in the order of DescribeConfig and --help.
const std::vector<ConfigField>& ConfigSpec();

// Core's settings followed by each section's, in order.
std::vector<ConfigField> ConfigFields(std::span<const ConfigSection> sections);

// Where settings come from. `flags` maps keys (as declared) to the raw text given on the command line.
struct ConfigSources {
  std::optional<std::string> file;                  // path of a TOML file
  std::map<std::string, std::string> env;           // environment (only declared names are read; "" = unset)
  std::map<std::string, std::string> flags;         // "tenant_id" (or "tenant-id") → "acme"
};

// Builds a Config from core's settings and `sections`: defaults < file < env < flags, then validates it
// (core's checks, then each section's; start_date is normalized to UTC "…Z"). Text values (env, flags): bools
// true/false/1/0/yes/no/on/off (any case), ints and doubles must be the whole string, lists are
// comma-separated. InvalidArgument naming the key, the source and the bad value (secret values are never
// echoed) for an unreadable file, an unknown key or flag, a bad value or a failed check; Internal naming the
// clash when two declarations share a key, an environment variable or a flag.
Result<Config> LoadConfig(const ConfigSources& sources, std::span<const ConfigSection> sections = {});

// Reads the declared environment variables (core's and `sections`') of this process.
std::map<std::string, std::string> ReadEnvironment(std::span<const ConfigSection> sections = {});

// The effective config as key = value lines (core's, then the components'), secrets shown as "***".
std::string DescribeConfig(const Config& config);

// Registers the value of every setting declared secret with the logger (log::AddSecret), so no log line
// shows it: the set of log secrets is the declarations', never a hand-kept list.
void RegisterLogSecrets(const Config& config);

// Replaces every occurrence of each non-empty secret of `config` in `text` with "***".
std::string RedactSecrets(const Config& config, std::string text);

}  // namespace deskpipe
