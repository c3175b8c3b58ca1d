#include "core/config.h"
#include "core/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace deskpipe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "sEcReT-K3y-9f8e7d";

class ConfigTest : public ::testing::Test {
 protected:
  // Writes `text` to a fresh file in the test's temp dir and returns its path. The name carries the test's
  // name: ctest runs the tests as parallel processes sharing that dir.
  std::string WriteFile(const std::string& text) {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const std::string path = (std::filesystem::path(::testing::TempDir()) /
                              ("deskpipe_config_test_" + test + "_" + std::to_string(counter_++) + ".toml"))
                                 .string();
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& f : files_) std::filesystem::remove(f);
  }

  Status LoadError(const ConfigSources& sources) {
    Result<Config> r = LoadConfig(sources);
    if (r) return Internal("LoadConfig unexpectedly succeeded");
    return r.error();
  }

 private:
  int counter_ = 0;
  std::vector<std::string> files_;
};

TEST_F(ConfigTest, SpecCoversEveryFieldWithSeedEnvNames) {
  const auto& spec = ConfigSpec();
  EXPECT_EQ(spec.size(), 37u);
  std::set<std::string> keys, envs;
  for (const ConfigField& f : spec) {
    EXPECT_FALSE(f.doc.empty()) << f.key;
    EXPECT_TRUE(keys.insert(f.key).second) << "duplicate key " << f.key;
    EXPECT_TRUE(envs.insert(f.env).second) << "duplicate env " << f.env;
    EXPECT_EQ(f.secret, f.key == "freshdesk_api_key" || f.key == "openai_api_key" || f.key == "llm_summary_api_key")
        << f.key;
  }
  auto env_of = [&](const std::string& key) {
    for (const ConfigField& f : spec) {
      if (f.key == key) return f.env;
    }
    return std::string("(missing)");
  };
  EXPECT_EQ(env_of("tenant_id"), "TENANT_ID");
  EXPECT_EQ(env_of("freshdesk_domain"), "FRESHDESK_DOMAIN");
  EXPECT_EQ(env_of("freshdesk_api_key"), "FRESHDESK_API_KEY");
  EXPECT_EQ(env_of("full_streaming_mode"), "ENABLE_FULL_STREAMING_MODE");
  EXPECT_EQ(env_of("llm_summary"), "ENABLE_LLM_SUMMARY_GENERATION");
  EXPECT_EQ(env_of("sql_progress_logs"), "ENABLE_SQL_PROGRESS_LOGS");
  EXPECT_EQ(env_of("vector_only_minimal_sql"), "VECTOR_ONLY_MODE_MINIMAL_SQL");
  EXPECT_EQ(env_of("vector_db_content_field"), "VECTOR_DB_CONTENT_FIELD");
  EXPECT_EQ(env_of("vector_db_store_original_text"), "VECTOR_DB_STORE_ORIGINAL_TEXT");
  EXPECT_EQ(env_of("vector_db_include_all_metadata"), "VECTOR_DB_INCLUDE_ALL_METADATA");
  EXPECT_EQ(env_of("collection_batch_size"), "COLLECTION_BATCH_SIZE");
  EXPECT_EQ(env_of("rate_limit_delay"), "RATE_LIMIT_DELAY");
  EXPECT_EQ(env_of("max_concurrent_requests"), "MAX_CONCURRENT_REQUESTS");
  EXPECT_EQ(env_of("api_budget_share"), "DESKPIPE_API_BUDGET_SHARE");
  EXPECT_EQ(env_of("data_dir"), "DESKPIPE_DATA_DIR");
  EXPECT_EQ(env_of("allowed_hosts"), "DESKPIPE_ALLOWED_HOSTS");
  EXPECT_EQ(env_of("llm_summary_url"), "LLM_SUMMARY_URL");
  EXPECT_EQ(env_of("llm_summary_model"), "LLM_SUMMARY_MODEL");
  EXPECT_EQ(env_of("llm_summary_api_key"), "LLM_SUMMARY_API_KEY");
  EXPECT_EQ(env_of("llm_summary_timeout"), "LLM_SUMMARY_TIMEOUT");
  EXPECT_EQ(env_of("llm_summary_max_concurrent"), "LLM_SUMMARY_MAX_CONCURRENT");
  EXPECT_EQ(env_of("attachment_max_bytes"), "DESKPIPE_ATTACHMENT_MAX_BYTES");
  EXPECT_EQ(env_of("index_drafts"), "DESKPIPE_INDEX_DRAFTS");
  EXPECT_EQ(env_of("reconcile_interval"), "DESKPIPE_RECONCILE_INTERVAL");
  EXPECT_EQ(env_of("reconcile_max_probes"), "DESKPIPE_RECONCILE_MAX_PROBES");
}

// LLM summary settings (issue 8 point 7): off by default, limits checked, the key never echoed.
TEST_F(ConfigTest, LlmSummaryKeys) {
  Config defaults = LoadConfig({}).value();
  EXPECT_FALSE(defaults.llm_summary);
  EXPECT_EQ(defaults.llm_summary_timeout, 60);
  EXPECT_EQ(defaults.llm_summary_max_concurrent, 4);

  ConfigSources sources;
  sources.env = {{"ENABLE_LLM_SUMMARY_GENERATION", "true"}, {"LLM_SUMMARY_URL", "http://127.0.0.1:9/v1"},
                 {"LLM_SUMMARY_API_KEY", "sk-llm-secret-77"}, {"LLM_SUMMARY_TIMEOUT", "2.5"}};
  Config config = LoadConfig(sources).value();
  EXPECT_TRUE(config.llm_summary);
  EXPECT_EQ(config.llm_summary_url, "http://127.0.0.1:9/v1");
  EXPECT_EQ(config.llm_summary_timeout, 2.5);
  EXPECT_EQ(DescribeConfig(config).find("sk-llm-secret-77"), std::string::npos);

  sources.env["LLM_SUMMARY_TIMEOUT"] = "0";
  auto bad_timeout = LoadConfig(sources);
  ASSERT_FALSE(bad_timeout);
  EXPECT_NE(bad_timeout.error().message().find("llm_summary_timeout"), std::string::npos);
  sources.env["LLM_SUMMARY_TIMEOUT"] = "5";
  sources.env["LLM_SUMMARY_MAX_CONCURRENT"] = "0";
  auto bad_concurrency = LoadConfig(sources);
  ASSERT_FALSE(bad_concurrency);
  EXPECT_NE(bad_concurrency.error().message().find("llm_summary_max_concurrent"), std::string::npos);
  EXPECT_EQ(bad_concurrency.error().message().find("sk-llm-secret-77"), std::string::npos);
}

TEST_F(ConfigTest, DefaultsLoadAndValidate) {
  Result<Config> c = LoadConfig({});
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->tenant_id, "demo");
  EXPECT_EQ(c->collection_batch_size, 100);
  EXPECT_EQ(c->start_date, "1970-01-01T00:00:00Z");
  EXPECT_EQ(c->EffectiveStoreUrl(), "sqlite://./deskpipe-data/deskpipe.db");
}

TEST_F(ConfigTest, StoreUrl) {
  Config c;
  c.data_dir = "/var/lib/deskpipe";
  EXPECT_EQ(c.EffectiveStoreUrl(), "sqlite:///var/lib/deskpipe/deskpipe.db");
  c.store_url = "sqlite:///tmp/x.db";
  EXPECT_EQ(c.EffectiveStoreUrl(), "sqlite:///tmp/x.db");
}

TEST_F(ConfigTest, PrecedenceFileEnvFlags) {
  const std::string path = WriteFile(
      "tenant_id = \"from-file\"\n"
      "collection_batch_size = 10\n"
      "max_concurrent_requests = 3\n"
      "rate_limit_delay = 1\n"
      "allowed_hosts = [\"a.example\", \"b.example\"]\n"
      "full_streaming_mode = true\n");

  ConfigSources sources;
  sources.file = path;
  Config file_only = LoadConfig(sources).value();
  EXPECT_EQ(file_only.tenant_id, "from-file");
  EXPECT_EQ(file_only.collection_batch_size, 10);
  EXPECT_EQ(file_only.rate_limit_delay, 1.0);
  EXPECT_EQ(file_only.allowed_hosts, (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_TRUE(file_only.full_streaming_mode);

  sources.env = {{"TENANT_ID", "from-env"},
                 {"COLLECTION_BATCH_SIZE", "20"},
                 {"PATH", "/bin"},
                 {"DESKPIPE_ALLOWED_HOSTS", " c.example , ,d.example"},
                 {"ENABLE_FULL_STREAMING_MODE", "Off"}};
  Config with_env = LoadConfig(sources).value();
  EXPECT_EQ(with_env.tenant_id, "from-env");
  EXPECT_EQ(with_env.collection_batch_size, 20);
  EXPECT_EQ(with_env.max_concurrent_requests, 3);  // only the file sets it
  EXPECT_EQ(with_env.allowed_hosts, (std::vector<std::string>{"c.example", "d.example"}));
  EXPECT_FALSE(with_env.full_streaming_mode);

  sources.flags = {{"tenant_id", "from-flag"}, {"rate-limit-delay", "0.25"}};
  Config with_flags = LoadConfig(sources).value();
  EXPECT_EQ(with_flags.tenant_id, "from-flag");
  EXPECT_EQ(with_flags.collection_batch_size, 20);
  EXPECT_EQ(with_flags.rate_limit_delay, 0.25);
}

// The Freshdesk source's settings (issue 4): defaults, env names, precedence, and refusal of negatives.
TEST_F(ConfigTest, FreshdeskSourceKeys) {
  Config defaults = LoadConfig({}).value();
  EXPECT_EQ(defaults.attachment_max_bytes, 20 * 1024 * 1024);
  EXPECT_FALSE(defaults.index_drafts);
  EXPECT_EQ(defaults.reconcile_interval, 86400);
  EXPECT_EQ(defaults.reconcile_max_probes, 2000);

  ConfigSources sources;
  sources.file = WriteFile(
      "attachment_max_bytes = 1000\n"
      "reconcile_interval = 60\n"
      "reconcile_max_probes = 7\n");
  sources.env = {{"DESKPIPE_INDEX_DRAFTS", "yes"}, {"DESKPIPE_RECONCILE_MAX_PROBES", "5"},
                 {"DESKPIPE_ATTACHMENT_MAX_BYTES", "2048"}};
  sources.flags = {{"reconcile-interval", "0"}};
  Config c = LoadConfig(sources).value();
  EXPECT_EQ(c.attachment_max_bytes, 2048);  // env over file
  EXPECT_TRUE(c.index_drafts);
  EXPECT_EQ(c.reconcile_interval, 0);       // flag over file
  EXPECT_EQ(c.reconcile_max_probes, 5);
  EXPECT_THAT(DescribeConfig(c), HasSubstr("reconcile_max_probes = 5\n"));

  for (const char* key : {"attachment_max_bytes", "reconcile_interval", "reconcile_max_probes"}) {
    ConfigSources bad;
    bad.flags = {{key, "-1"}};
    Status e = LoadError(bad);
    EXPECT_EQ(e.code(), StatusCode::kInvalidArgument) << key;
    EXPECT_THAT(e.message(), HasSubstr(key));
    EXPECT_THAT(e.message(), HasSubstr("negative"));
  }
  ConfigSources not_a_number;
  not_a_number.env = {{"DESKPIPE_RECONCILE_INTERVAL", "1h"}};
  EXPECT_THAT(LoadError(not_a_number).message(), HasSubstr("DESKPIPE_RECONCILE_INTERVAL"));
}

TEST_F(ConfigTest, EmptyEnvValueIsUnset) {
  ConfigSources sources;
  sources.env = {{"COLLECTION_BATCH_SIZE", ""}, {"TENANT_ID", ""}};
  Config c = LoadConfig(sources).value();
  EXPECT_EQ(c.collection_batch_size, 100);
  EXPECT_EQ(c.tenant_id, "demo");
}

TEST_F(ConfigTest, BoolSpellings) {
  for (const char* t : {"true", "TRUE", "1", "yes", "Yes", "on", "ON"}) {
    ConfigSources s;
    s.env = {{"ENABLE_LLM_SUMMARY_GENERATION", t}};
    EXPECT_TRUE(LoadConfig(s).value().llm_summary) << t;
  }
  for (const char* f : {"false", "False", "0", "no", "NO", "off"}) {
    ConfigSources s;
    s.flags = {{"vector_only_minimal_sql", f}};
    EXPECT_FALSE(LoadConfig(s).value().vector_only_minimal_sql) << f;
  }
}

TEST_F(ConfigTest, BadBoolNamesKeySourceAndValue) {
  ConfigSources s;
  s.env = {{"ENABLE_FULL_STREAMING_MODE", "maybe"}};
  Status e = LoadError(s);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.message(), HasSubstr("full_streaming_mode"));
  EXPECT_THAT(e.message(), HasSubstr("ENABLE_FULL_STREAMING_MODE"));
  EXPECT_THAT(e.message(), HasSubstr("'maybe'"));
}

TEST_F(ConfigTest, BadIntIsStrict) {
  for (const char* bad : {"12abc", "abc", "1.5", " 12", "99999999999"}) {
    ConfigSources s;
    s.flags = {{"collection_batch_size", bad}};
    Status e = LoadError(s);
    EXPECT_EQ(e.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(e.message(), HasSubstr("collection_batch_size"));
    EXPECT_THAT(e.message(), HasSubstr("--collection-batch-size"));
    EXPECT_THAT(e.message(), HasSubstr("'" + std::string(bad) + "'"));
  }
  ConfigSources s;
  s.env = {{"RATE_LIMIT_DELAY", "0.5s"}};
  Status e = LoadError(s);
  EXPECT_THAT(e.message(), HasSubstr("RATE_LIMIT_DELAY"));
  EXPECT_THAT(e.message(), HasSubstr("'0.5s'"));
  s.env = {{"RATE_LIMIT_DELAY", "nan"}};
  EXPECT_EQ(LoadError(s).code(), StatusCode::kInvalidArgument);
}

TEST_F(ConfigTest, UnknownTomlKeyNamed) {
  const std::string path = WriteFile("tenant_id = \"acme\"\nbatch_sise = 5\n");
  ConfigSources s;
  s.file = path;
  Status e = LoadError(s);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.message(), HasSubstr("batch_sise"));
  EXPECT_THAT(e.message(), HasSubstr(path));
}

TEST_F(ConfigTest, WrongTomlTypeNamed) {
  ConfigSources s;
  s.file = WriteFile("collection_batch_size = \"ten\"\n");
  Status e = LoadError(s);
  EXPECT_THAT(e.message(), HasSubstr("collection_batch_size"));
  EXPECT_THAT(e.message(), HasSubstr("integer"));
  EXPECT_THAT(e.message(), HasSubstr("\"ten\""));  // the bad value
  EXPECT_THAT(e.message(), HasSubstr(*s.file));
  s.file = WriteFile("full_streaming_mode = \"yes\"\n");
  EXPECT_THAT(LoadError(s).message(), HasSubstr("full_streaming_mode"));
  s.file = WriteFile("allowed_hosts = \"a.example\"\n");
  EXPECT_THAT(LoadError(s).message(), HasSubstr("allowed_hosts"));
  s.file = WriteFile("collection_batch_size = 5000000000\n");
  EXPECT_THAT(LoadError(s).message(), HasSubstr("out of range"));
}

TEST_F(ConfigTest, ANonRegularOrOversizedConfigFileIsRefusedWithoutReadingIt) {
  ConfigSources s;
  s.file = "/dev/zero";  // was read whole: gigabytes in seconds
  Status e = LoadError(s);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.message(), HasSubstr("/dev/zero is a character device, not a regular file"));

  const auto dir = std::filesystem::path(::testing::TempDir()) / ("config-fifo-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string fifo = (dir / "config.toml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  s.file = fifo;  // was a read that waited forever for a writer
  e = LoadError(s);
  EXPECT_THAT(e.message(), HasSubstr(fifo + " is a FIFO (named pipe), not a regular file"));
  s.file = dir.string();
  EXPECT_THAT(LoadError(s).message(), HasSubstr(dir.string() + " is a directory, not a regular file"));
  std::filesystem::remove_all(dir);

  s.file = WriteFile("# " + std::string(2 << 20, 'x') + "\n");
  e = LoadError(s);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.message(), HasSubstr(*s.file + " is larger than 1 MiB"));
}

TEST_F(ConfigTest, MissingAndUnparseableFiles) {
  ConfigSources s;
  s.file = (std::filesystem::path(::testing::TempDir()) / "no_such_deskpipe.toml").string();
  Status e = LoadError(s);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.message(), HasSubstr(*s.file));

  s.file = WriteFile("tenant_id = \"acme\"\nthis is not toml\n");
  e = LoadError(s);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.message(), HasSubstr(*s.file));
  EXPECT_THAT(e.message(), HasSubstr(" 2:"));  // line 2, then the column
}

TEST_F(ConfigTest, UnknownFlagsNamed) {
  ConfigSources s;
  s.flags = {{"tenant_id", "acme"}, {"tenant_idd", "x"}, {"bogus", "1"}};
  Status e = LoadError(s);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.message(), HasSubstr("--tenant-idd"));
  EXPECT_THAT(e.message(), HasSubstr("--bogus"));
}

TEST_F(ConfigTest, ValidationErrors) {
  struct Case {
    const char* key;
    const char* value;
  };
  const Case cases[] = {
      {"tenant_id", "Acme"},
      {"tenant_id", "-acme"},
      {"platform", "fresh-desk"},
      {"log_format", "xml"},
      {"log_level", "verbose"},
      {"collection_batch_size", "0"},
      {"collection_batch_size", "10001"},
      {"max_concurrent_requests", "0"},
      {"max_concurrent_requests", "65"},
      {"rate_limit_delay", "-1"},
      {"api_budget_share", "0"},
      {"api_budget_share", "1.5"},
      {"start_date", "2025-02-30"},
      {"start_date", "soon"},
  };
  for (const Case& c : cases) {
    ConfigSources s;
    s.flags = {{c.key, c.value}};
    Status e = LoadError(s);
    EXPECT_EQ(e.code(), StatusCode::kInvalidArgument) << c.key << "=" << c.value;
    EXPECT_THAT(e.message(), HasSubstr(c.key));
    std::string flag = std::string("--") + c.key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    EXPECT_THAT(e.message(), HasSubstr(flag));  // where the bad value came from
    EXPECT_THAT(e.message(), HasSubstr(c.value));
  }
  // Boundaries are accepted.
  ConfigSources ok;
  ok.flags = {
      {"collection_batch_size", "10000"}, {"max_concurrent_requests", "64"}, {"rate_limit_delay", "0"}};
  EXPECT_TRUE(LoadConfig(ok).has_value());
}

TEST_F(ConfigTest, ValidationNamesSource) {
  ConfigSources s;
  s.env = {{"MAX_CONCURRENT_REQUESTS", "100"}};
  EXPECT_THAT(LoadError(s).message(), HasSubstr("MAX_CONCURRENT_REQUESTS"));
  s.env.clear();
  s.file = WriteFile("log_format = \"yaml\"\n");
  Status e = LoadError(s);
  EXPECT_THAT(e.message(), HasSubstr(*s.file));
  EXPECT_THAT(e.message(), HasSubstr("yaml"));
}

TEST_F(ConfigTest, EmptyContentFieldRejected) {
  ConfigSources s;
  s.flags = {{"vector_db_content_field", ""}};
  EXPECT_THAT(LoadError(s).message(), HasSubstr("vector_db_content_field"));
}

TEST_F(ConfigTest, StartDateNormalizedToUtc) {
  ConfigSources s;
  s.env = {{"DESKPIPE_START_DATE", "2025-03-11T15:12:17+05:30"}};
  EXPECT_EQ(LoadConfig(s).value().start_date, "2025-03-11T09:42:17Z");
  s.env = {{"DESKPIPE_START_DATE", "2025-03-11"}};
  EXPECT_EQ(LoadConfig(s).value().start_date, "2025-03-11T00:00:00Z");
}

TEST_F(ConfigTest, SecretNeverInErrorsOrDescription) {
  // Secret set alongside an unrelated bad value.
  ConfigSources s;
  s.env = {{"FRESHDESK_API_KEY", kSecret}, {"COLLECTION_BATCH_SIZE", "x"}};
  EXPECT_THAT(LoadError(s).message(), Not(HasSubstr(kSecret)));

  // Secret of the wrong TOML type.
  s = {};
  s.file = WriteFile("freshdesk_api_key = 987654321987\n");
  Status e = LoadError(s);
  EXPECT_THAT(e.message(), HasSubstr("freshdesk_api_key"));
  EXPECT_THAT(e.message(), Not(HasSubstr("987654321987")));

  // Secret on a malformed TOML line: toml++'s description could quote it.
  s.file = WriteFile(std::string("freshdesk_api_key = ") + kSecret + "\n");
  e = LoadError(s);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.message(), Not(HasSubstr(kSecret)));
  EXPECT_THAT(e.message(), Not(HasSubstr("sEcReT")));
  s.file = WriteFile(std::string("freshdesk_api_key = \"") + kSecret + "\n");  // unterminated string
  e = LoadError(s);
  EXPECT_THAT(e.message(), Not(HasSubstr("sEcReT")));

  // Loaded fine: the description hides it.
  s = {};
  s.flags = {{"freshdesk_api_key", kSecret}};
  Config c = LoadConfig(s).value();
  EXPECT_EQ(c.freshdesk_api_key, kSecret);
  const std::string described = DescribeConfig(c);
  EXPECT_THAT(described, Not(HasSubstr(kSecret)));
  EXPECT_THAT(described, HasSubstr("freshdesk_api_key = ***\n"));
}

TEST_F(ConfigTest, DescribeConfigLinesInSpecOrder) {
  Config c;
  c.allowed_hosts = {"a.example", "b.example"};
  const std::string described = DescribeConfig(c);
  EXPECT_THAT(described, HasSubstr("tenant_id = demo\n"));
  EXPECT_THAT(described, HasSubstr("freshdesk_api_key = (unset)\n"));
  EXPECT_THAT(described, HasSubstr("allowed_hosts = a.example,b.example\n"));
  EXPECT_THAT(described, HasSubstr("vector_only_minimal_sql = true\n"));
  EXPECT_THAT(described, HasSubstr("collection_batch_size = 100\n"));
  EXPECT_THAT(described, HasSubstr("rate_limit_delay = 0\n"));
  size_t last = 0;
  for (const ConfigField& f : ConfigSpec()) {
    size_t pos = described.find(f.key + " = ");
    ASSERT_NE(pos, std::string::npos) << f.key;
    EXPECT_GE(pos, last) << f.key;
    last = pos;
  }
  EXPECT_EQ(static_cast<size_t>(std::count(described.begin(), described.end(), '\n')), ConfigSpec().size());
}

TEST_F(ConfigTest, RedactSecrets) {
  Config c;
  EXPECT_EQ(RedactSecrets(c, "nothing to hide"), "nothing to hide");
  c.freshdesk_api_key = "abc123";
  EXPECT_EQ(RedactSecrets(c, "key=abc123 again abc123abc123"), "key=*** again ******");
}

TEST_F(ConfigTest, ReadEnvironmentReadsOnlySpecdNames) {
  ::setenv("DESKPIPE_LOG_LEVEL", "debug", 1);
  ::setenv("DESKPIPE_NOT_A_SETTING", "x", 1);
  std::map<std::string, std::string> env = ReadEnvironment();
  ::unsetenv("DESKPIPE_LOG_LEVEL");
  ::unsetenv("DESKPIPE_NOT_A_SETTING");
  EXPECT_EQ(env["DESKPIPE_LOG_LEVEL"], "debug");
  EXPECT_EQ(env.count("DESKPIPE_NOT_A_SETTING"), 0u);
  EXPECT_EQ(env.count("PATH"), 0u);
}

// The logger redacts what the spec marks secret, each one, without a hand-kept list.
TEST(ConfigSecretsTest, EverySecretFieldIsRegisteredWithTheLogger) {
  Config config;
  config.freshdesk_api_key = "fd-secret-71";
  config.openai_api_key = "oa-secret-72";
  config.llm_summary_api_key = "llm-secret-73";
  RegisterLogSecrets(config);
  for (const std::string secret : {"fd-secret-71", "oa-secret-72", "llm-secret-73"}) {
    const std::string line = log::Render(log::Format::kText, "info", "key " + secret, {{"value", secret}});
    EXPECT_EQ(line.find(secret), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace deskpipe
