#include "core/config.h"
#include "core/log.h"
#include "core/testing/temp_toml_files.h"
#include "core/settings_binding.h"

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
  std::string WriteFile(const std::string& text) { return toml_files_.Write(text); }

  Status LoadError(const ConfigSources& sources, std::span<const ConfigSection> sections = {}) {
    Result<Config> r = LoadConfig(sources, sections);
    if (r) return Internal("LoadConfig unexpectedly succeeded");
    return r.error();
  }

 private:
  testing::TempTomlFiles toml_files_;
};

// Core's own settings; the components' are covered with their sections (app/config_sections_test.cc).
TEST_F(ConfigTest, CoreSpecHasSeedEnvNamesAndNoComponentKeys) {
  const auto& spec = ConfigSpec();
  std::set<std::string> keys, envs;
  for (const ConfigField& f : spec) {
    EXPECT_FALSE(f.doc.empty()) << f.key;
    EXPECT_TRUE(keys.insert(f.key).second) << "duplicate key " << f.key;
    EXPECT_TRUE(envs.insert(f.env).second) << "duplicate env " << f.env;
    EXPECT_EQ(f.key.rfind("freshdesk_", 0), std::string::npos) << f.key;
    EXPECT_EQ(f.key.rfind("openai_", 0), std::string::npos) << f.key;
    EXPECT_EQ(f.key.rfind("llm_summary_", 0), std::string::npos) << f.key;
  }
  EXPECT_EQ(spec.size(), 21u);
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
    EXPECT_THAT(e.message(), HasSubstr("flag --batch-size"));  // the CLI's name for it, not the key's
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
    // Where the bad value came from: the flag as the CLI spells it (--tenant for tenant_id).
    std::string flag = std::string("--") + c.key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    for (const ConfigField& field : ConfigSpec()) {
      if (field.key == c.key && !field.flag.empty()) flag = "--" + field.flag;
    }
    EXPECT_THAT(e.message(), HasSubstr("flag " + flag + ")"));
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

TEST_F(ConfigTest, DescribeConfigLinesInSpecOrder) {
  Config c;
  c.allowed_hosts = {"a.example", "b.example"};
  const std::string described = DescribeConfig(c);
  EXPECT_THAT(described, HasSubstr("tenant_id = demo\n"));
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
  c.components.Set("widget_token", std::string("abc123"), /*secret=*/true);
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

// A component's section: its keys load from every source in order, its check names the key and the source, its
// secret is never shown, and two declarations of one name are refused.
struct WidgetSettings {
  std::string url = "https://widget.example";
  std::string token;
  int limit = 5;
};

const SettingsBinding<WidgetSettings>& WidgetBinding() {
  static const SettingsBinding<WidgetSettings> binding =
      SettingsBinding<WidgetSettings>("widget")
          .Field(&WidgetSettings::url, {.key = "widget_url", .env = "WIDGET_URL", .doc = "Widget root"})
          .Field(&WidgetSettings::token,
                 {.key = "widget_token", .env = "WIDGET_TOKEN", .doc = "Widget token", .secret = true,
                  .flag = "token", .flag_scope = FlagScope::kSource})
          .Field(&WidgetSettings::limit, {.key = "widget_limit", .env = "WIDGET_LIMIT", .doc = "Widget limit"})
          .Check([](const WidgetSettings& w, const Config&) -> std::optional<ConfigProblem> {
            if (w.limit < 0) return ConfigProblem{"widget_limit", std::to_string(w.limit) + " is negative"};
            return std::nullopt;
          });
  return binding;
}

TEST_F(ConfigTest, ComponentSectionLoadsChecksAndHidesItsSecret) {
  const std::vector<ConfigSection> sections = {WidgetBinding().Section()};
  WidgetSettings defaults = WidgetBinding().Read(LoadConfig({}, sections).value());
  EXPECT_EQ(defaults.url, "https://widget.example");
  EXPECT_EQ(defaults.limit, 5);
  EXPECT_EQ(WidgetBinding().Read(Config{}).limit, 5);  // a Config made in code: the struct's defaults

  ConfigSources s;
  s.file = WriteFile("widget_url = \"https://file.example\"\nwidget_limit = 1\nwidget_token = \"t-file\"\n");
  s.env = {{"WIDGET_LIMIT", "2"}, {"WIDGET_TOKEN", kSecret}};
  s.flags = {{"widget-limit", "3"}};
  Config c = LoadConfig(s, sections).value();
  WidgetSettings w = WidgetBinding().Read(c);
  EXPECT_EQ(w.url, "https://file.example");
  EXPECT_EQ(w.token, kSecret);  // env over file
  EXPECT_EQ(w.limit, 3);        // flag over env
  const std::string described = DescribeConfig(c);
  EXPECT_THAT(described, HasSubstr("widget_token = ***\n"));
  EXPECT_THAT(described, HasSubstr("widget_limit = 3\n"));
  EXPECT_THAT(described, Not(HasSubstr(kSecret)));
  EXPECT_GT(described.find("widget_url = "), described.find("log_level = "));  // core first
  EXPECT_EQ(RedactSecrets(c, std::string("token ") + kSecret), "token ***");

  s.flags = {{"widget_limit", "-1"}};
  Status e = LoadError(s, sections);
  EXPECT_EQ(e.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.message(), HasSubstr("widget_limit"));
  EXPECT_THAT(e.message(), HasSubstr("--widget-limit"));
  EXPECT_THAT(e.message(), HasSubstr("negative"));
  EXPECT_THAT(e.message(), Not(HasSubstr(kSecret)));

  ConfigSources bad_secret;
  bad_secret.file = WriteFile("widget_token = 987654321987\n");
  e = LoadError(bad_secret, sections);
  EXPECT_THAT(e.message(), HasSubstr("widget_token"));
  EXPECT_THAT(e.message(), Not(HasSubstr("987654321987")));
  bad_secret.file = WriteFile(std::string("widget_token = ") + kSecret + "\n");
  EXPECT_THAT(LoadError(bad_secret, sections).message(), Not(HasSubstr("sEcReT")));

  // Without the section its keys are unknown.
  ConfigSources widget_only;
  widget_only.file = WriteFile("widget_url = \"https://file.example\"\n");
  EXPECT_THAT(LoadError(widget_only).message(), HasSubstr("unknown key 'widget_url'"));
  widget_only = {};
  widget_only.flags = {{"widget_url", "x"}};
  EXPECT_THAT(LoadError(widget_only).message(), HasSubstr("--widget-url"));
}

TEST_F(ConfigTest, ClashingDeclarationsAreRefused) {
  ConfigSection twin = WidgetBinding().Section();
  twin.name = "twin";
  for (ConfigField& f : twin.fields) f.key = "twin_" + f.key;  // the same env vars and flag
  const std::vector<ConfigSection> sections = {WidgetBinding().Section(), twin};
  Status e = LoadError({}, sections);
  EXPECT_EQ(e.code(), StatusCode::kInternal);
  EXPECT_THAT(e.message(), HasSubstr("WIDGET_URL"));
  ConfigSection tenant = WidgetBinding().Section();
  tenant.fields.at(0).key = "tenant_id";
  const std::vector<ConfigSection> shadowing = {tenant};
  EXPECT_THAT(LoadError({}, shadowing).message(), HasSubstr("tenant_id"));
}

TEST(ConfigSecretsTest, EverySecretSettingIsRegisteredWithTheLogger) {
  Config config;
  WidgetSettings widget;
  widget.token = "wd-secret-74";
  WidgetBinding().Write(widget, config);
  RegisterLogSecrets(config);
  const std::string line = log::Render(log::Format::kText, "info", "key wd-secret-74", {{"value", "wd-secret-74"}});
  EXPECT_EQ(line.find("wd-secret-74"), std::string::npos) << line;
}

}  // namespace
}  // namespace deskpipe
