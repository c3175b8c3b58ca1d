// deskpipe's configuration: one typed struct, filled from a TOML file, then the seed's environment variables,
// then command-line flags (flags win over env over file). One spec table (name, env var, type, doc, secret)
// drives validation, help text and redaction. Unknown keys are an error naming the key.
// Value type; not synchronized.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace deskpipe {

struct Config {
  std::string tenant_id = "demo";             // TENANT_ID
  std::string platform = "freshdesk";         // DESKPIPE_PLATFORM
  std::string freshdesk_domain;               // FRESHDESK_DOMAIN: "acme" or "acme.freshdesk.com"
  std::string freshdesk_base_url;             // FRESHDESK_BASE_URL: helpdesk root, loopback or allowlisted
  std::string freshdesk_api_key;              // FRESHDESK_API_KEY (secret)
  std::vector<std::string> allowed_hosts;     // DESKPIPE_ALLOWED_HOSTS: hosts --base-url may name
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
  // The OpenAI-compatible embeddings endpoint (embedder = "openai").
  std::string openai_base_url = "https://api.openai.com/v1";  // OPENAI_BASE_URL
  std::string openai_api_key;                                 // OPENAI_API_KEY (secret)
  std::string openai_embedding_model = "text-embedding-3-small";  // OPENAI_EMBEDDING_MODEL
  int openai_embedding_dimension = 0;         // OPENAI_EMBEDDING_DIMENSION; 0 = the model's own width
  // The Freshdesk source (FreshdeskSourceOptions).
  int attachment_max_bytes = 20 * 1024 * 1024;  // DESKPIPE_ATTACHMENT_MAX_BYTES; 0 = download none
  bool index_drafts = false;           // DESKPIPE_INDEX_DRAFTS: draft articles indexed like published ones
  int reconcile_interval = 24 * 3600;  // DESKPIPE_RECONCILE_INTERVAL: seconds between reconciliation sweeps
  int reconcile_max_probes = 2000;     // DESKPIPE_RECONCILE_MAX_PROBES: ticket views per sync; 0 = no sweep
  // LLM thread summaries (llm_summary in hybrid mode): an OpenAI-compatible chat-completions endpoint.
  std::string llm_summary_url = "https://api.openai.com/v1";  // LLM_SUMMARY_URL: POST {url}/chat/completions
  std::string llm_summary_model = "gpt-4o-mini";              // LLM_SUMMARY_MODEL
  std::string llm_summary_api_key;                            // LLM_SUMMARY_API_KEY (secret)
  double llm_summary_timeout = 60;                            // LLM_SUMMARY_TIMEOUT: seconds per request
  int llm_summary_max_concurrent = 4;                         // LLM_SUMMARY_MAX_CONCURRENT: requests in flight

  // The store URL in effect: store_url, or the SQLite default "sqlite://" + data_dir + "/deskpipe.db".
  // URL form: sqlite://<path>, the path taken as written: sqlite://./deskpipe-data/deskpipe.db is relative,
  // sqlite:///abs/path/deskpipe.db is absolute.
  std::string EffectiveStoreUrl() const;
};

enum class ConfigType { kString, kBool, kInt, kDouble, kStringList };

// One configurable setting.
struct ConfigField {
  std::string key;       // TOML key and flag name with '_' → '-': "tenant_id" ⇔ --tenant-id
  std::string env;       // environment variable
  ConfigType type;
  std::string doc;
  bool secret = false;   // never printed: shown as "***"
};

const std::vector<ConfigField>& ConfigSpec();

// Where settings come from. `flags` maps keys (as in ConfigSpec) to the raw text given on the command line.
struct ConfigSources {
  std::optional<std::string> file;                  // path of a TOML file
  std::map<std::string, std::string> env;           // environment (only spec'd names are read; "" = unset)
  std::map<std::string, std::string> flags;         // "tenant_id" (or "tenant-id") → "acme"
};

// Builds a Config: defaults < file < env < flags, then validates it (start_date is normalized to UTC "…Z").
// Text values (env, flags): bools true/false/1/0/yes/no/on/off (any case), ints and doubles must be the whole
// string, lists are comma-separated. InvalidArgument naming the key, the source and the bad value (secret
// values are never echoed) for an unreadable file, an unknown key or flag, a bad value or a failed check.
Result<Config> LoadConfig(const ConfigSources& sources);

// Reads the spec'd environment variables of this process.
std::map<std::string, std::string> ReadEnvironment();

// The effective config as key = value lines, secrets shown as "***".
std::string DescribeConfig(const Config& config);

// Registers the value of every field the spec marks secret with the logger (log::AddSecret), so no log line
// shows it: the set of log secrets is the spec's, never a hand-kept list.
void RegisterLogSecrets(const Config& config);

// Replaces every occurrence of each non-empty secret of `config` in `text` with "***".
std::string RedactSecrets(const Config& config, std::string text);

}  // namespace deskpipe
