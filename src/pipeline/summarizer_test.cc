// LLM thread summaries against a real HTTP server on loopback speaking the OpenAI
// chat-completions protocol (cpp-httplib), alone and through the real runner and SQLite store: summaries are
// stored and searchable, an unchanged thread is never summarized twice, failures (HTTP 500, a malformed
// answer, a timeout) are dead letters that never block the sync, and the key never lands anywhere.
#include "pipeline/summarizer.h"
#include "pipeline/summarizer_settings.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "embed/hashing_embedder.h"
#include "pipeline/runner.h"

namespace deskpipe {
namespace {

namespace fs = std::filesystem;

constexpr char kKey[] = "sk-test-llm-key-5d1f";
constexpr char kModel[] = "summary-model-1";
constexpr char kTenant[] = "acme";

// POST /v1/chat/completions. The user message decides the answer: "FAIL-500" → 500, "MALFORMED" → a 200
// whose body is cut, "SLOW" → answers after 3 s; otherwise a summary naming the subject ("Synopsis of
// <subject>: …"). A wrong key gets a 401 whose body echoes the Authorization header (as some proxies do).
class ChatCompletionsServer {
 public:
  ChatCompletionsServer() {
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ChatCompletionsServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int requests() const { return requests_.load(); }
  // Requests whose user message held `needle`.
  int RequestsMentioning(const std::string& needle) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const std::string& prompt : prompts_) n += prompt.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }
  nlohmann::json last_body() {
    std::lock_guard lock(mu_);
    return last_body_;
  }
  std::string last_authorization() {
    std::lock_guard lock(mu_);
    return last_authorization_;
  }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    const std::string authorization = req.get_header_value("Authorization");
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    std::string prompt;
    if (body.is_object() && body.contains("messages") && body["messages"].is_array()) {
      for (const auto& message : body["messages"]) {
        if (message.value("role", "") == "user") prompt = message.value("content", "");
      }
    }
    {
      std::lock_guard lock(mu_);
      prompts_.push_back(prompt);
      last_body_ = body;
      last_authorization_ = authorization;
    }
    if (authorization != std::string("Bearer ") + kKey) {
      res.status = 401;
      res.set_content(nlohmann::json({{"error", {{"message", "Incorrect API key provided: " + authorization},
                                                 {"type", "invalid_request_error"}}}})
                          .dump(),
                      "application/json");
      return;
    }
    if (prompt.find("FAIL-500") != std::string::npos) {
      res.status = 500;
      res.set_content(R"({"error":{"message":"the model is overloaded","type":"server_error"}})", "application/json");
      return;
    }
    if (prompt.find("MALFORMED") != std::string::npos) {
      res.set_content(R"({"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assis)", "application/json");
      return;
    }
    if (prompt.find("SLOW") != std::string::npos) std::this_thread::sleep_for(std::chrono::seconds(3));
    std::string subject = prompt.substr(0, prompt.find('\n'));
    if (subject.rfind("Subject: ", 0) == 0) subject = subject.substr(9);
    nlohmann::json answer = {
        {"id", "chatcmpl-test"},
        {"object", "chat.completion"},
        {"model", body.value("model", "")},
        {"choices",
         {{{"index", 0},
           {"message", {{"role", "assistant"}, {"content", "  Synopsis of " + subject + ": zircon ledger resolved.\n"}}},
           {"finish_reason", "stop"}}}},
        {"usage", {{"prompt_tokens", 42}, {"completion_tokens", 9}, {"total_tokens", 51}}}};
    res.set_content(answer.dump(), "application/json");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<std::string> prompts_;
  nlohmann::json last_body_;
  std::string last_authorization_;
};

Document TicketDocument(const std::string& id, const std::string& title, std::vector<Section> sections) {
  Document d;
  d.id = id;
  d.tenant_id = kTenant;
  d.platform = "freshdesk";
  d.type = "ticket";
  d.title = title;
  d.sections = std::move(sections);
  d.metadata = {{"has_private", false}, {"original_id", "1"}};
  return d;
}

SummarizerOptions Options(const ChatCompletionsServer& server) {
  SummarizerOptions options;
  options.base_url = server.base_url();
  options.api_key = kKey;
  options.model = kModel;
  options.timeout = std::chrono::milliseconds(500);
  options.retry_backoff = std::chrono::milliseconds(10);
  return options;
}

TEST(SummarizerTest, SendsAChatCompletionAndReadsTheAnswer) {
  ChatCompletionsServer server;
  auto summarizer = Summarizer::Create(Options(server));
  ASSERT_TRUE(summarizer) << summarizer.error().ToString();
  Document ticket = TicketDocument("acme_freshdesk_1", "Invoice shows the wrong VAT",
                                   {{"customer", "My March invoice charges 25% VAT instead of 19%."},
                                    {"agent", "Corrected; a new invoice is attached."}});
  auto summary = (*summarizer)->Summarize(ticket);
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->text, "Synopsis of Invoice shows the wrong VAT: zircon ledger resolved.");  // trimmed
  EXPECT_EQ(summary->usage["total_tokens"], 51);

  const nlohmann::json body = server.last_body();
  EXPECT_EQ(body["model"], kModel);
  EXPECT_EQ(body["temperature"], 0);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  const std::string prompt = body["messages"][1]["content"];
  EXPECT_NE(prompt.find("[customer]\nMy March invoice charges 25% VAT"), std::string::npos) << prompt;
  EXPECT_LT(prompt.find("[customer]"), prompt.find("[agent]\nCorrected")) << "messages in thread order";
  EXPECT_EQ(server.last_authorization(), std::string("Bearer ") + kKey);
}

TEST(SummarizerTest, FailuresAreClassifiedBoundedAndNeverCarryTheKey) {
  ChatCompletionsServer server;
  auto summarizer = Summarizer::Create(Options(server));
  ASSERT_TRUE(summarizer);

  const int before = server.requests();
  auto overloaded = (*summarizer)->Summarize(TicketDocument("acme_freshdesk_2", "FAIL-500", {{"customer", "x"}}));
  ASSERT_FALSE(overloaded);
  EXPECT_EQ(overloaded.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(overloaded.error().message().find("HTTP 500"), std::string::npos) << overloaded.error().message();
  EXPECT_EQ(server.requests() - before, 2) << "a 5xx is retried once, then given up";

  auto malformed = (*summarizer)->Summarize(TicketDocument("acme_freshdesk_3", "MALFORMED", {{"customer", "x"}}));
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code(), StatusCode::kInvalidRecord);
  EXPECT_NE(malformed.error().message().find("malformed"), std::string::npos);

  auto slow = (*summarizer)->Summarize(TicketDocument("acme_freshdesk_4", "SLOW", {{"customer", "x"}}));
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code(), StatusCode::kUnavailable) << slow.error().ToString();

  SummarizerOptions wrong_key = Options(server);
  wrong_key.api_key = "sk-wrong-key-9a9a";
  auto refused_client = Summarizer::Create(wrong_key);
  ASSERT_TRUE(refused_client);
  auto refused = (*refused_client)->Summarize(TicketDocument("acme_freshdesk_5", "ok", {{"customer", "x"}}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(refused.error().message().find("LLM_SUMMARY_API_KEY"), std::string::npos);
  EXPECT_EQ(refused.error().message().find("sk-wrong-key-9a9a"), std::string::npos)
      << "the server echoed the key; it must be masked: " << refused.error().message();
}

TEST(SummarizerTest, ADeadEndpointIsSkippedAfterRepeatedFailures) {
  ChatCompletionsServer server;
  SummarizerOptions options = Options(server);
  options.max_consecutive_failures = 2;
  options.max_attempts = 1;
  auto summarizer = Summarizer::Create(options);
  ASSERT_TRUE(summarizer);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE((*summarizer)->Summarize(TicketDocument("acme_freshdesk_6", "FAIL-500", {{"customer", "x"}})));
  }
  const int before = server.requests();
  auto skipped = (*summarizer)->Summarize(TicketDocument("acme_freshdesk_7", "fine", {{"customer", "x"}}));
  ASSERT_FALSE(skipped);
  EXPECT_EQ(skipped.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(skipped.error().message().find("in a row"), std::string::npos);
  EXPECT_EQ(server.requests(), before) << "no request once the endpoint is taken as down";
}

TEST(SummarizerTest, AStopRequestLeavesTheRestUnsentAsCancelled) {
  ChatCompletionsServer server;
  auto summarizer = Summarizer::Create(Options(server));
  ASSERT_TRUE(summarizer);
  std::atomic<bool> stop{true};
  (*summarizer)->set_stop(&stop);
  auto cancelled = (*summarizer)->Summarize(TicketDocument("acme_freshdesk_9", "fine", {{"customer", "x"}}));
  ASSERT_FALSE(cancelled);
  EXPECT_EQ(cancelled.error().code(), StatusCode::kCancelled);
  EXPECT_EQ(server.requests(), 0);
  stop = false;
  EXPECT_TRUE((*summarizer)->Summarize(TicketDocument("acme_freshdesk_9", "fine", {{"customer", "x"}})));
}

TEST(SummarizerTest, BadSettingsAreRefusedNamingTheSetting) {
  SummarizerOptions remote_http;
  remote_http.base_url = "http://llm.example.com/v1";
  auto refused = Summarizer::Create(remote_http);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.error().message().find("llm_summary_url"), std::string::npos);

  SummarizerOptions no_model;
  no_model.model = "";
  EXPECT_FALSE(Summarizer::Create(no_model));

  Config config;
  EXPECT_TRUE(Summarizer::FromConfig(config)->get() == nullptr) << "off by default";
  config.llm_summary = true;
  config.full_streaming_mode = true;
  EXPECT_TRUE(Summarizer::FromConfig(config)->get() == nullptr) << "hybrid mode only";
  config.full_streaming_mode = false;
  auto on = Summarizer::FromConfig(config);
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->get() != nullptr);
}

TEST(SummarizerTest, LongThreadsKeepTheirStartAndEndOnUtf8Boundaries) {
  std::string middle;
  for (int i = 0; i < 5000; ++i) middle += "ü";  // two bytes each
  Document ticket = TicketDocument("acme_freshdesk_8", "Long one",
                                   {{"customer", "OPENING-PROBLEM " + middle}, {"agent", middle + " CLOSING-STATE"}});
  const std::string prompt = SummaryPrompt(ticket, 2000);
  EXPECT_LE(prompt.size(), 2000u);
  EXPECT_NE(prompt.find("OPENING-PROBLEM"), std::string::npos);
  EXPECT_NE(prompt.find("CLOSING-STATE"), std::string::npos);
  EXPECT_NE(prompt.find("elided"), std::string::npos);
  EXPECT_FALSE(nlohmann::json(prompt).dump().empty());  // valid UTF-8 (dump throws on a split sequence)
}

// ---- through the runner -------------------------------------------------------------------------------

// One "tickets" stream that always returns every ticket (so each run sees them all again) with two messages
// each; tests edit `subjects`, `states`, `statuses` and `replies` between runs.
class TicketSource : public Source {
 public:
  std::map<int, std::string> subjects;
  std::map<int, std::string> states;    // default "active"
  std::map<int, std::string> statuses;  // default "open"
  std::map<int, std::string> replies;   // the agent's reply text

  std::string platform() const override { return "freshdesk"; }
  std::vector<std::string> Streams() const override { return {"tickets"}; }
  Result<Batch> Next(const std::string& stream, const nlohmann::json&) override {
    Batch batch;
    batch.stream = stream;
    for (const auto& [number, subject] : subjects) {
      Record ticket = MakeRecord("ticket", std::to_string(number), subject,
                                 "Customer text about " + subject + " number " + std::to_string(number));
      ticket.status = statuses.count(number) ? statuses[number] : "open";
      ticket.metadata["status"] = ticket.status;
      ticket.metadata["state"] = states.count(number) ? states[number] : "active";
      Record reply = MakeRecord("conversation", "conversation-" + std::to_string(number * 10), "",
                                replies.count(number) ? replies[number] : "We are looking into it.");
      reply.parent_id = ticket.id;
      reply.metadata["role"] = "agent";
      batch.records.push_back(std::move(ticket));
      batch.records.push_back(std::move(reply));
    }
    batch.cursor = {{"seen", true}};
    batch.done = true;
    return batch;
  }

  static Record MakeRecord(const std::string& type, const std::string& original_id, const std::string& title,
                           const std::string& content) {
    Record r;
    r.original_id = original_id;
    r.id = std::string(kTenant) + "_freshdesk_" + original_id;
    r.tenant_id = kTenant;
    r.platform = "freshdesk";
    r.type = type;
    r.title = title;
    r.content = content;
    r.created_at = "2026-01-01T00:00:00Z";
    r.updated_at = "2026-01-02T00:00:00Z";
    return r;
  }
};

class RunnerSummaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deskpipe_summarizer_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    StoreOptions options;
    options.url = "sqlite://" + (dir_ / "deskpipe.db").string();
    options.data_dir = dir_.string();
    options.dimension = 64;
    auto store = OpenStore(options);
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);

    config_.tenant_id = kTenant;
    config_.llm_summary = true;
    SummarizerSettings summarizer;
    summarizer.url = server_.base_url();
    summarizer.model = kModel;
    summarizer.api_key = kKey;
    summarizer.timeout_seconds = 0.5;  // the "SLOW" ticket's answer comes after 3 s
    summarizer.WriteTo(config_);
    for (int i = 1; i <= 8; ++i) source_.subjects[i] = "Printer " + std::to_string(i) + " jams";
    source_.subjects[6] = "Printer 6 FAIL-500";
    source_.subjects[7] = "Printer 7 MALFORMED";
    source_.subjects[8] = "Printer 8 SLOW";
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  RunSummary Run() {
    RunnerOptions options;
    options.cpu_workers = 2;
    options.embedder_thread_safe = true;
    Runner runner(config_, source_, embedder_, *store_, options);
    auto summary = runner.Run();
    EXPECT_TRUE(summary) << summary.error().ToString();
    return summary ? *summary : RunSummary{};
  }
  std::map<std::string, std::string> DocumentHashes() {
    std::vector<std::string> ids;
    for (int i = 1; i <= 8; ++i) ids.push_back(SummaryDocumentId("acme_freshdesk_" + std::to_string(i)));
    auto hashes = store_->DocumentHashes(kTenant, ids);
    EXPECT_TRUE(hashes);
    return hashes ? std::map<std::string, std::string>(hashes->begin(), hashes->end())
                  : std::map<std::string, std::string>{};
  }
  // Every byte the store wrote (database, WAL, vector index).
  std::string StoreBytes() {
    std::string all;
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream buffer;
      buffer << in.rdbuf();
      all += buffer.str();
    }
    return all;
  }

  ChatCompletionsServer server_;
  fs::path dir_;
  Config config_;
  TicketSource source_;
  HashingEmbedder embedder_{64};
  std::unique_ptr<Store> store_;
};

TEST_F(RunnerSummaryTest, ThreadsAreSummarizedStoredSearchableAndNeverTwice) {
  const RunSummary first = Run();
  EXPECT_FALSE(first.stopped);
  EXPECT_EQ(first.dead_letters, 3) << "500, malformed and timeout: dead letters, the sync goes on";

  auto stats = store_->Stats(kTenant);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->documents_by_type["ticket"], 8) << "every ticket is indexed, summarized or not";
  EXPECT_EQ(stats->documents_by_type[kTicketSummaryType], 5);
  EXPECT_EQ(stats->records_by_type[kTicketSummaryType], 5) << "summaries are SQL records too";

  auto letters = store_->ListDeadLetters(kTenant);
  ASSERT_TRUE(letters);
  ASSERT_EQ(letters->size(), 3u);
  std::map<std::string, std::string> class_by_ticket;
  for (const StoredDeadLetter& stored : *letters) {
    EXPECT_EQ(stored.letter.stage, "summarize");
    EXPECT_EQ(stored.letter.stream, "tickets");
    class_by_ticket[stored.letter.record_id] = stored.letter.error_class;
  }
  EXPECT_EQ(class_by_ticket["acme_freshdesk_6"], "Unavailable");
  EXPECT_EQ(class_by_ticket["acme_freshdesk_7"], "InvalidRecord");
  EXPECT_EQ(class_by_ticket["acme_freshdesk_8"], "Unavailable");

  // The summary is searchable and links back to its ticket.
  SearchQuery query;
  query.tenant_id = kTenant;
  query.text = "zircon ledger Printer 3";
  query.top_k = 3;
  query.types = {kTicketSummaryType};
  auto hits = store_->Search(query);
  ASSERT_TRUE(hits) << hits.error().ToString();
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ((*hits)[0].document_id, SummaryDocumentId("acme_freshdesk_3"));
  EXPECT_EQ((*hits)[0].metadata["ticket_id"], "acme_freshdesk_3") << (*hits)[0].metadata.dump();
  EXPECT_NE((*hits)[0].text.find("Synopsis of Printer 3 jams"), std::string::npos);

  // Unchanged threads are not summarized again (only the three failed ones are tried again).
  const auto hashes_before = DocumentHashes();
  const int healthy_calls = server_.RequestsMentioning("Subject: Printer 1 jams");
  EXPECT_EQ(healthy_calls, 1);
  Run();
  EXPECT_EQ(server_.RequestsMentioning("Subject: Printer 1 jams"), 1);
  EXPECT_EQ(server_.RequestsMentioning("Subject: Printer 6 FAIL-500"), 4) << "failed ones are retried next run";

  // A status change alone does not re-summarize; a changed message does, once; a trashed ticket loses its
  // summary.
  source_.statuses[1] = "resolved";
  source_.replies[2] = "Replaced the roller; please confirm it feeds now.";
  source_.states[4] = "deleted";
  Run();
  EXPECT_EQ(server_.RequestsMentioning("Subject: Printer 1 jams"), 1);
  EXPECT_EQ(server_.RequestsMentioning("Replaced the roller"), 1);
  const auto hashes_after = DocumentHashes();
  EXPECT_EQ(hashes_after.at(SummaryDocumentId("acme_freshdesk_1")),
            hashes_before.at(SummaryDocumentId("acme_freshdesk_1")));
  EXPECT_NE(hashes_after.at(SummaryDocumentId("acme_freshdesk_2")),
            hashes_before.at(SummaryDocumentId("acme_freshdesk_2")));
  EXPECT_EQ(hashes_after.count(SummaryDocumentId("acme_freshdesk_4")), 0u);

  EXPECT_EQ(StoreBytes().find(kKey), std::string::npos) << "the API key must never be stored";
}

TEST_F(RunnerSummaryTest, OffByDefault) {
  config_.llm_summary = false;
  const RunSummary summary = Run();
  EXPECT_EQ(summary.dead_letters, 0);
  EXPECT_EQ(server_.requests(), 0);
  auto stats = store_->Stats(kTenant);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->documents_by_type["ticket"], 8);
  EXPECT_EQ(stats->documents_by_type.count(kTicketSummaryType), 0u);
}

}  // namespace
}  // namespace deskpipe
