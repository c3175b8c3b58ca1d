#include "core/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace deskpipe::log {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The UTC timestamp prefix every line starts with.
const std::regex kTs(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");

TEST(LogTest, TextShape) {
  const std::string line = Render(Format::kText, "info", "synced page",
                                  {{"stream", "tickets"}, {"count", 30}, {"note", "two words"}});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(line, m, kTs)) << line;
  EXPECT_EQ(m.position(0), 0);
  EXPECT_EQ(line.substr(20), " INFO synced page count=30 note=\"two words\" stream=tickets");
}

TEST(LogTest, TextLevelsAndValueKinds) {
  EXPECT_THAT(Render(Format::kText, "warn", "m", nlohmann::json::object()), HasSubstr(" WARN m"));
  EXPECT_THAT(Render(Format::kText, "error", "m", nlohmann::json::object()), HasSubstr(" ERROR m"));
  const std::string line =
      Render(Format::kText, "debug", "m",
             {{"ok", true}, {"none", nullptr}, {"empty", ""}, {"quote", "say \"hi\""}, {"eq", "a=b"}});
  EXPECT_THAT(line, HasSubstr(" DEBUG m"));
  EXPECT_THAT(line, HasSubstr(" ok=true"));
  EXPECT_THAT(line, HasSubstr(" none=null"));
  EXPECT_THAT(line, HasSubstr(" empty=\"\""));
  EXPECT_THAT(line, HasSubstr(R"( quote="say \"hi\"")"));
  EXPECT_THAT(line, HasSubstr(R"( eq="a=b")"));
}

TEST(LogTest, TextStaysOnOneLine) {
  const std::string line = Render(Format::kText, "info", "line one\nline two", {{"body", "a\nb"}});
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_THAT(line, HasSubstr("line one\\nline two"));
}

TEST(LogTest, JsonShapeParsesBack) {
  const std::string line = Render(Format::kJson, "info", "synced \"page\"\n",
                                  {{"stream", "tickets"}, {"count", 30}, {"tags", {"a", "b"}}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;  // ts comes first
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_TRUE(std::regex_match(j["ts"].get<std::string>(), kTs));
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "synced \"page\"\n");
  EXPECT_EQ(j["stream"], "tickets");
  EXPECT_EQ(j["count"], 30);
  EXPECT_EQ(j["tags"], nlohmann::json::array({"a", "b"}));
}

TEST(LogTest, JsonKeepsReservedFieldNamesApart) {
  nlohmann::json j = nlohmann::json::parse(Render(Format::kJson, "warn", "real", {{"msg", "field"}}));
  EXPECT_EQ(j["msg"], "real");
  EXPECT_EQ(j["_msg"], "field");
  EXPECT_EQ(j["level"], "warn");
}

TEST(LogTest, InvalidUtf8DoesNotThrow) {
  const std::string bad = "caf\xe9";
  std::string line;
  EXPECT_NO_THROW(line = Render(Format::kJson, "info", bad, {{"v", bad}}));
  EXPECT_NO_THROW(nlohmann::json::parse(line));
  EXPECT_NO_THROW(Render(Format::kText, "info", bad, {{"v", bad}}));
}

TEST(LogTest, NonObjectFieldsKept) {
  nlohmann::json j = nlohmann::json::parse(Render(Format::kJson, "info", "m", nlohmann::json::array({1, 2})));
  EXPECT_EQ(j["fields"], nlohmann::json::array({1, 2}));
}

TEST(LogTest, SecretsRedactedInBothFormats) {
  const std::string secret = "LogTestKey-4f3e2d1c";
  AddSecret(secret);
  AddSecret("");  // ignored, must not redact everything
  const nlohmann::json fields = {{"auth", secret}, {"nested", {{"url", "https://x/?k=" + secret}}}, {"n", 1}};

  const std::string text = Render(Format::kText, "info", "using key " + secret, fields);
  EXPECT_THAT(text, Not(HasSubstr(secret)));
  EXPECT_THAT(text, HasSubstr("using key ***"));
  EXPECT_THAT(text, HasSubstr("auth=***"));

  const std::string json = Render(Format::kJson, "info", "using key " + secret, fields);
  EXPECT_THAT(json, Not(HasSubstr(secret)));
  nlohmann::json j = nlohmann::json::parse(json);
  EXPECT_EQ(j["msg"], "using key ***");
  EXPECT_EQ(j["auth"], "***");
  EXPECT_EQ(j["nested"]["url"], "https://x/?k=***");
  EXPECT_EQ(j["n"], 1);
}

TEST(LogTest, MaskSecretTakesWholeOccurrencesOnly) {
  EXPECT_EQ(MaskSecret("key=abc123 again abc123abc123.", "abc123"), "key=*** again ******.");
  EXPECT_EQ(MaskSecret("abc123", "abc123"), "***");
  // Inside a longer word it is some other text, not the secret.
  EXPECT_EQ(MaskSecret("xabc123 abc123y abc123_z", "abc123"), "xabc123 abc123y ***_z");
  EXPECT_EQ(MaskSecret("https://acme.freshdesk.com/?k=Desk42x", "Desk42x"), "https://acme.freshdesk.com/?k=***");
  // A long one cannot be a part of other text by chance: glued or not, it is the secret.
  EXPECT_EQ(MaskSecret("xxsk-0123456789abcdefyy", "sk-0123456789abcdef"), "xx***yy");
}

TEST(LogTest, ShortSecretsLeaveTextAlone) {
  const std::string text = "acme.freshdesk.com: check the Freshdesk subdomain k";
  EXPECT_EQ(MaskSecret(text, "k"), text);
  EXPECT_EQ(MaskSecret(text, "desk"), text);
  AddSecret("k");
  AddSecret("sk");
  EXPECT_THAT(Render(Format::kText, "info", text, nlohmann::json::object()), HasSubstr(text));
  EXPECT_EQ(nlohmann::json::parse(Render(Format::kJson, "info", text, {{"host", "acme.freshdesk.com"}}))["host"],
            "acme.freshdesk.com");
}

TEST(LogTest, SecretNeedingJsonEscapeRedacted) {
  const std::string secret = "quo\"te\\key-77";
  AddSecret(secret);
  const std::string json = Render(Format::kJson, "info", "k", {{"k", secret}});
  EXPECT_THAT(json, Not(HasSubstr(R"(quo\"te\\key-77)")));
  EXPECT_EQ(nlohmann::json::parse(json)["k"], "***");
  EXPECT_THAT(Render(Format::kText, "info", secret, nlohmann::json::object()), Not(HasSubstr("key-77")));
}

TEST(LogTest, ConfigureValidates) {
  EXPECT_TRUE(Configure("json", "debug").has_value());
  EXPECT_TRUE(Configure("text", "info").has_value());
  for (const char* level : {"trace", "debug", "info", "warn", "error"}) {
    EXPECT_TRUE(Configure("text", level).has_value()) << level;
  }
  Result<void> bad_format = Configure("xml", "info");
  ASSERT_FALSE(bad_format.has_value());
  EXPECT_EQ(bad_format.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_format.error().message(), HasSubstr("xml"));
  Result<void> bad_level = Configure("text", "loud");
  ASSERT_FALSE(bad_level.has_value());
  EXPECT_THAT(bad_level.error().message(), HasSubstr("loud"));
  ASSERT_TRUE(Configure("text", "info").has_value());
}

TEST(LogTest, EmitsToStderr) {
  ASSERT_TRUE(Configure("json", "info").has_value());
  ::testing::internal::CaptureStderr();
  Info("visible", {{"k", 1}});
  Debug("hidden below info");
  Warn("warned");
  Error("failed");
  const std::string out = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(Configure("text", "info").has_value());
  EXPECT_THAT(out, HasSubstr("\"msg\":\"visible\""));
  EXPECT_THAT(out, HasSubstr("\"level\":\"warn\""));
  EXPECT_THAT(out, HasSubstr("\"level\":\"error\""));
  EXPECT_THAT(out, Not(HasSubstr("hidden")));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3);
}

TEST(LogTest, ConcurrentSecretsAndRendering) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      const std::string secret = "ThreadSecret-" + std::to_string(t) + "-abcdef";
      AddSecret(secret);
      for (int i = 0; i < 200; ++i) {
        const std::string line =
            Render(i % 2 ? Format::kJson : Format::kText, "info", "k " + secret, {{"i", i}});
        ASSERT_EQ(line.find(secret), std::string::npos);  // registered before rendering, so always hidden
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

}  // namespace
}  // namespace deskpipe::log
