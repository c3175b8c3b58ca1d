// The program's assembled settings (core's and every component's section): the seed's keys, environment
// variables and flags keep working exactly as before the settings moved beside their components.
#include "app/config_sections.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "core/log.h"
#include "core/testing/temp_toml_files.h"
#include "pipeline/summarizer_settings.h"
#include "platforms/freshdesk/freshdesk_settings.h"

namespace deskpipe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "sEcReT-K3y-9f8e7d";

class AppConfigTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& text) { return toml_files_.Write(text); }

  Status LoadError(const ConfigSources& sources) {
    Result<Config> r = app::LoadConfig(sources);
    if (r) return Internal("LoadConfig unexpectedly succeeded");
    return r.error();
  }

 private:
  testing::TempTomlFiles toml_files_;
};

TEST_F(AppConfigTest, SpecCoversEveryFieldWithSeedEnvNames) {
  const auto& spec = app::ConfigFields();
  EXPECT_EQ(spec.size(), 41u);  // 37 and Zendesk's 4
  std::set<std::string> keys, envs;
  for (const ConfigField& f : spec) {
    EXPECT_FALSE(f.doc.empty()) << f.key;
    EXPECT_TRUE(keys.insert(f.key).second) << "duplicate key " << f.key;
    EXPECT_TRUE(envs.insert(f.env).second) << "duplicate env " << f.env;
    EXPECT_EQ(f.secret, f.key == "freshdesk_api_key" || f.key == "zendesk_api_token" ||
                            f.key == "openai_api_key" || f.key == "llm_summary_api_key")
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

// LLM summary settings: off by default, limits checked, the key never echoed.
TEST_F(AppConfigTest, LlmSummaryKeys) {
  Config defaults = app::LoadConfig({}).value();
  EXPECT_FALSE(defaults.llm_summary);
  EXPECT_EQ(SummarizerSettings::FromConfig(defaults).timeout_seconds, 60);
  EXPECT_EQ(SummarizerSettings::FromConfig(defaults).max_concurrent, 4);

  ConfigSources sources;
  sources.env = {{"ENABLE_LLM_SUMMARY_GENERATION", "true"}, {"LLM_SUMMARY_URL", "http://127.0.0.1:9/v1"},
                 {"LLM_SUMMARY_API_KEY", "sk-llm-secret-77"}, {"LLM_SUMMARY_TIMEOUT", "2.5"}};
  Config config = app::LoadConfig(sources).value();
  EXPECT_TRUE(config.llm_summary);
  EXPECT_EQ(SummarizerSettings::FromConfig(config).url, "http://127.0.0.1:9/v1");
  EXPECT_EQ(SummarizerSettings::FromConfig(config).timeout_seconds, 2.5);
  EXPECT_EQ(DescribeConfig(config).find("sk-llm-secret-77"), std::string::npos);

  sources.env["LLM_SUMMARY_TIMEOUT"] = "0";
  auto bad_timeout = app::LoadConfig(sources);
  ASSERT_FALSE(bad_timeout);
  EXPECT_NE(bad_timeout.error().message().find("llm_summary_timeout"), std::string::npos);
  sources.env["LLM_SUMMARY_TIMEOUT"] = "5";
  sources.env["LLM_SUMMARY_MAX_CONCURRENT"] = "0";
  auto bad_concurrency = app::LoadConfig(sources);
  ASSERT_FALSE(bad_concurrency);
  EXPECT_NE(bad_concurrency.error().message().find("llm_summary_max_concurrent"), std::string::npos);
  EXPECT_EQ(bad_concurrency.error().message().find("sk-llm-secret-77"), std::string::npos);
}

// The Freshdesk source's settings: defaults, env names, precedence, and refusal of negatives.
TEST_F(AppConfigTest, FreshdeskSourceKeys) {
  const freshdesk::FreshdeskSettings defaults = freshdesk::FreshdeskSettings::FromConfig(app::LoadConfig({}).value());
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
  Config c = app::LoadConfig(sources).value();
  const freshdesk::FreshdeskSettings fd = freshdesk::FreshdeskSettings::FromConfig(c);
  EXPECT_EQ(fd.attachment_max_bytes, 2048);  // env over file
  EXPECT_TRUE(fd.index_drafts);
  EXPECT_EQ(fd.reconcile_interval, 0);       // flag over file
  EXPECT_EQ(fd.reconcile_max_probes, 5);
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

TEST_F(AppConfigTest, SecretNeverInErrorsOrDescription) {
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
  Config c = app::LoadConfig(s).value();
  EXPECT_EQ(freshdesk::FreshdeskSettings::FromConfig(c).api_key, kSecret);
  const std::string described = DescribeConfig(c);
  EXPECT_THAT(described, Not(HasSubstr(kSecret)));
  EXPECT_THAT(described, HasSubstr("freshdesk_api_key = ***\n"));
}

TEST_F(AppConfigTest, DescribeConfigLinesInSpecOrder) {
  Config c = app::LoadConfig({}).value();
  c.allowed_hosts = {"a.example", "b.example"};
  const std::string described = DescribeConfig(c);
  EXPECT_THAT(described, HasSubstr("tenant_id = demo\n"));
  EXPECT_THAT(described, HasSubstr("freshdesk_api_key = (unset)\n"));
  EXPECT_THAT(described, HasSubstr("allowed_hosts = a.example,b.example\n"));
  EXPECT_THAT(described, HasSubstr("vector_only_minimal_sql = true\n"));
  EXPECT_THAT(described, HasSubstr("collection_batch_size = 100\n"));
  EXPECT_THAT(described, HasSubstr("rate_limit_delay = 0\n"));
  size_t last = 0;
  for (const ConfigField& f : app::ConfigFields()) {
    size_t pos = described.find(f.key + " = ");
    ASSERT_NE(pos, std::string::npos) << f.key;
    EXPECT_GE(pos, last) << f.key;
    last = pos;
  }
  EXPECT_EQ(static_cast<size_t>(std::count(described.begin(), described.end(), '\n')), app::ConfigFields().size());
}

// The logger redacts what the spec marks secret, each one, without a hand-kept list.
TEST(ConfigSecretsTest, EverySecretFieldIsRegisteredWithTheLogger) {
  ConfigSources sources;
  sources.env = {{"FRESHDESK_API_KEY", "fd-secret-71"}, {"OPENAI_API_KEY", "oa-secret-72"},
                 {"LLM_SUMMARY_API_KEY", "llm-secret-73"}, {"ZENDESK_API_TOKEN", "zd-secret-74"}};
  Config config = app::LoadConfig(sources).value();
  RegisterLogSecrets(config);
  for (const std::string secret : {"fd-secret-71", "oa-secret-72", "llm-secret-73", "zd-secret-74"}) {
    const std::string line = log::Render(log::Format::kText, "info", "key " + secret, {{"value", secret}});
    EXPECT_EQ(line.find(secret), std::string::npos) << line;
  }
}

// Flags are derived from the declarations: the seed's CLI names, each in its verbs' scope, none twice.
TEST(AppConfigFlagsTest, SeedFlagsAreDeclaredOnce) {
  std::map<std::string, std::pair<std::string, FlagScope>> flags;
  for (const ConfigField& f : app::ConfigFields()) {
    if (f.flag.empty()) continue;
    EXPECT_TRUE(flags.emplace(f.flag, std::pair{f.key, f.flag_scope}).second) << "duplicate flag " << f.flag;
  }
  const std::map<std::string, std::pair<std::string, FlagScope>> expected = {
      {"tenant", {"tenant_id", FlagScope::kTenant}},
      {"data-dir", {"data_dir", FlagScope::kTenant}},
      {"store", {"store_url", FlagScope::kTenant}},
      {"embedder", {"embedder", FlagScope::kTenant}},
      {"platform", {"platform", FlagScope::kSource}},
      {"domain", {"freshdesk_domain", FlagScope::kSource}},
      {"base-url", {"freshdesk_base_url", FlagScope::kSource}},
      {"api-key", {"freshdesk_api_key", FlagScope::kSource}},
      {"subdomain", {"zendesk_subdomain", FlagScope::kSource}},
      {"zendesk-base-url", {"zendesk_base_url", FlagScope::kSource}},
      {"email", {"zendesk_email", FlagScope::kSource}},
      {"api-token", {"zendesk_api_token", FlagScope::kSource}},
      {"start-date", {"start_date", FlagScope::kSource}},
      {"batch-size", {"collection_batch_size", FlagScope::kSource}},
      {"api-budget-share", {"api_budget_share", FlagScope::kSource}},
      {"unreachable-timeout", {"unreachable_timeout", FlagScope::kSource}},
      {"log-format", {"log_format", FlagScope::kGlobal}},
      {"log-level", {"log_level", FlagScope::kGlobal}},
  };
  EXPECT_EQ(flags, expected);
}

}  // namespace
}  // namespace deskpipe
