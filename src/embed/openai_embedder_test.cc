// The OpenAI-compatible client: batching, ordering, retries and classification against a scripted fake HTTP
// client (instant, no network); then against real HTTP servers on loopback — the in-process EmbeddingServer,
// a tiny httplib server answering 429 + Retry-After, and the real `deskpipe serve-embeddings` binary.
#include "embed/openai_embedder.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "embed/embedder_factory.h"
#include "embed/embedding_server.h"
#include "embed/hashing_embedder.h"
#include "embed/openai_embedder_settings.h"

namespace deskpipe {
namespace {

using std::chrono::milliseconds;

// Answers every request with `handler`, recording the requests. Thread-safe (workers share the script).
struct Script {
  std::mutex mutex;
  std::vector<net::HttpRequest> requests;
  std::function<Result<net::HttpResponse>(const net::HttpRequest&, int call)> handler;
};

class FakeHttpClient : public net::HttpClient {
 public:
  explicit FakeHttpClient(std::shared_ptr<Script> script) : script_(std::move(script)) {}
  Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
    int call;
    {
      std::lock_guard<std::mutex> lock(script_->mutex);
      script_->requests.push_back(request);
      call = static_cast<int>(script_->requests.size()) - 1;
    }
    return script_->handler(request, call);
  }

 private:
  std::shared_ptr<Script> script_;
};

// A 200 response embedding each input as [len, 1, 0, ...] (dimension 4), listed in reverse order so the client
// must sort by "index".
net::HttpResponse EchoLengths(const net::HttpRequest& request) {
  auto body = nlohmann::json::parse(request.body);
  nlohmann::json data = nlohmann::json::array();
  const auto& input = body["input"];
  for (size_t i = input.size(); i-- > 0;) {
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", {static_cast<double>(input[i].get<std::string>().size()), 1.0, 0.0, 0.0}}});
  }
  net::HttpResponse response;
  response.status = 200;
  response.body = nlohmann::json{{"object", "list"}, {"data", data}}.dump();
  return response;
}

net::HttpResponse Reply(long status, std::string body, std::map<std::string, std::string> headers = {}) {
  net::HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

struct Fixture {
  std::shared_ptr<Script> script = std::make_shared<Script>();
  std::shared_ptr<std::vector<milliseconds>> sleeps = std::make_shared<std::vector<milliseconds>>();
  std::shared_ptr<std::mutex> sleep_mutex = std::make_shared<std::mutex>();

  OpenAiEmbedderOptions Options() {
    OpenAiEmbedderOptions options;
    options.base_url = "https://api.example.com/v1/";
    options.api_key = "sk-test-SECRET-1234";
    options.model = "test-model";
    options.dimension = 4;
    options.concurrency = 1;
    options.make_client = [script = script] { return std::make_unique<FakeHttpClient>(script); };
    options.sleep = [sleeps = sleeps, mutex = sleep_mutex](milliseconds wait) {
      std::lock_guard<std::mutex> lock(*mutex);
      sleeps->push_back(wait);
    };
    return options;
  }
};

TEST(OpenAiEmbedderTest, SendsOneAuthorizedRequestAndRestoresOrder) {
  Fixture f;
  f.script->handler = [](const net::HttpRequest& r, int) { return EchoLengths(r); };
  auto embedder = OpenAiEmbedder::Create(f.Options());
  ASSERT_TRUE(embedder) << embedder.error().ToString();
  auto vectors = (*embedder)->Embed({"a", "bbb", "cc"});
  ASSERT_TRUE(vectors) << vectors.error().ToString();
  ASSERT_EQ(f.script->requests.size(), 1u);
  const net::HttpRequest& request = f.script->requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "https://api.example.com/v1/embeddings");
  bool authorized = false;
  for (const auto& [name, value] : request.headers) authorized |= name == "Authorization" && value == "Bearer sk-test-SECRET-1234";
  EXPECT_TRUE(authorized);
  auto body = nlohmann::json::parse(request.body);
  EXPECT_EQ(body["model"], "test-model");
  EXPECT_EQ(body["input"], nlohmann::json({"a", "bbb", "cc"}));
  EXPECT_EQ(body["dimensions"], 4);
  // Vectors are normalized and in input order: [len, 1, 0, 0] / norm.
  const float lengths[] = {1, 3, 2};
  for (int i = 0; i < 3; ++i) {
    const float norm = std::sqrt(lengths[i] * lengths[i] + 1);
    EXPECT_NEAR((*vectors)[i][0], lengths[i] / norm, 1e-6) << i;
    EXPECT_NEAR((*vectors)[i][1], 1 / norm, 1e-6) << i;
  }
  EXPECT_EQ((*embedder)->model_id(), "openai:test-model-4");
}

TEST(OpenAiEmbedderTest, BatchesByCountAndByTokensAndRunsConcurrently) {
  Fixture f;
  std::atomic<int> in_flight{0}, max_in_flight{0};
  f.script->handler = [&](const net::HttpRequest& r, int) {
    const int now = ++in_flight;
    for (int seen = max_in_flight; now > seen && !max_in_flight.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(milliseconds(20));  // keeps requests overlapping; nothing asserts on time
    --in_flight;
    return EchoLengths(r);
  };
  OpenAiEmbedderOptions options = f.Options();
  options.max_batch_texts = 3;
  options.max_batch_tokens = 10;  // 3 bytes ≈ 1 token: a 30-byte text fills a request alone
  options.concurrency = 3;
  auto embedder = OpenAiEmbedder::Create(options);
  ASSERT_TRUE(embedder);
  std::vector<std::string> texts;
  for (int i = 0; i < 9; ++i) texts.push_back("t" + std::to_string(i));
  texts.push_back(std::string(30, 'x'));
  texts.push_back("last");
  auto vectors = (*embedder)->Embed(texts);
  ASSERT_TRUE(vectors) << vectors.error().ToString();
  // 9 short texts → 3 requests of 3; the 30-byte text alone (10 tokens); "last" alone after it.
  ASSERT_EQ(f.script->requests.size(), 5u);
  std::multiset<size_t> sizes;
  for (const auto& r : f.script->requests) sizes.insert(nlohmann::json::parse(r.body)["input"].size());
  EXPECT_EQ(sizes, (std::multiset<size_t>{1, 1, 3, 3, 3}));
  for (size_t i = 0; i < texts.size(); ++i) {
    const float len = static_cast<float>(texts[i].size());
    EXPECT_NEAR((*vectors)[i][0], len / std::sqrt(len * len + 1), 1e-6) << i;
  }
  EXPECT_GT(max_in_flight.load(), 1);
}

TEST(OpenAiEmbedderTest, EmptyTextsAreNotSentAndGetZeros) {
  Fixture f;
  f.script->handler = [](const net::HttpRequest& r, int) { return EchoLengths(r); };
  auto embedder = OpenAiEmbedder::Create(f.Options());
  ASSERT_TRUE(embedder);
  auto vectors = (*embedder)->Embed({"", "ab", ""});
  ASSERT_TRUE(vectors);
  ASSERT_EQ(f.script->requests.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(f.script->requests[0].body)["input"], nlohmann::json({"ab"}));
  EXPECT_EQ((*vectors)[0], std::vector<float>(4, 0.0f));
  EXPECT_GT((*vectors)[1][0], 0.0f);
  auto none = (*embedder)->Embed({""});
  ASSERT_TRUE(none);
  EXPECT_EQ(f.script->requests.size(), 1u);
}

TEST(OpenAiEmbedderTest, Honours429RetryAfterThenSucceeds) {
  Fixture f;
  f.script->handler = [](const net::HttpRequest& r, int call) -> Result<net::HttpResponse> {
    if (call == 0) return Reply(429, R"({"error":{"message":"slow down"}})", {{"retry-after", "7"}});
    return EchoLengths(r);
  };
  auto embedder = OpenAiEmbedder::Create(f.Options());
  ASSERT_TRUE(embedder);
  auto vectors = (*embedder)->Embed({"hello"});
  ASSERT_TRUE(vectors) << vectors.error().ToString();
  EXPECT_EQ(f.script->requests.size(), 2u);
  ASSERT_EQ(f.sleeps->size(), 1u);
  // The pause is the server's 7 s (measured from when it was set, so at most a few ms less).
  EXPECT_LE(f.sleeps->at(0), milliseconds(7001));
  EXPECT_GE(f.sleeps->at(0), milliseconds(6900));
}

TEST(OpenAiEmbedderTest, BacksOffOn5xxAndTransportErrors) {
  Fixture f;
  f.script->handler = [](const net::HttpRequest& r, int call) -> Result<net::HttpResponse> {
    if (call == 0) return Reply(503, "busy");
    if (call == 1) return Error(Unavailable("connection reset"));
    return EchoLengths(r);
  };
  OpenAiEmbedderOptions options = f.Options();
  options.initial_backoff = milliseconds(100);
  auto embedder = OpenAiEmbedder::Create(options);
  ASSERT_TRUE(embedder);
  ASSERT_TRUE((*embedder)->Embed({"hello"}));
  EXPECT_EQ(f.script->requests.size(), 3u);
  ASSERT_EQ(f.sleeps->size(), 2u);
  // Exponential with jitter in [cap/2, cap]: 100 ms, then 200 ms.
  EXPECT_GE(f.sleeps->at(0), milliseconds(50));
  EXPECT_LE(f.sleeps->at(0), milliseconds(100));
  EXPECT_GE(f.sleeps->at(1), milliseconds(100));
  EXPECT_LE(f.sleeps->at(1), milliseconds(200));
}

TEST(OpenAiEmbedderTest, GivesUpAsRateLimitedWithRetryAfterWhenAttemptsRunOut) {
  Fixture f;
  f.script->handler = [](const net::HttpRequest&, int) -> Result<net::HttpResponse> {
    return Reply(429, "{}", {{"retry-after", "2"}});
  };
  OpenAiEmbedderOptions options = f.Options();
  options.max_attempts = 3;
  auto embedder = OpenAiEmbedder::Create(options);
  ASSERT_TRUE(embedder);
  auto vectors = (*embedder)->Embed({"hello"});
  ASSERT_FALSE(vectors);
  EXPECT_EQ(vectors.error().code(), StatusCode::kRateLimited);
  ASSERT_TRUE(vectors.error().retry_after().has_value());
  EXPECT_EQ(*vectors.error().retry_after(), milliseconds(2000));
  EXPECT_EQ(f.script->requests.size(), 3u);
}

TEST(OpenAiEmbedderTest, ClassifiesErrorsWithoutRetryAndNeverShowsTheKey) {
  struct Case {
    long status;
    StatusCode code;
  };
  for (const Case c : {Case{401, StatusCode::kUnauthenticated}, Case{403, StatusCode::kPermissionDenied},
                       Case{400, StatusCode::kInvalidArgument}, Case{404, StatusCode::kInvalidArgument}}) {
    Fixture f;
    // A server that echoes the key in its error must not get it into our message.
    f.script->handler = [&](const net::HttpRequest&, int) -> Result<net::HttpResponse> {
      return Reply(c.status, R"({"error":{"message":"bad key sk-test-SECRET-1234 given"}})");
    };
    auto embedder = OpenAiEmbedder::Create(f.Options());
    ASSERT_TRUE(embedder);
    auto vectors = (*embedder)->Embed({"hello"});
    ASSERT_FALSE(vectors) << c.status;
    EXPECT_EQ(vectors.error().code(), c.code) << c.status;
    EXPECT_EQ(f.script->requests.size(), 1u) << c.status;
    EXPECT_EQ(vectors.error().message().find("SECRET"), std::string::npos) << vectors.error().message();
    EXPECT_NE(vectors.error().message().find("HTTP " + std::to_string(c.status)), std::string::npos);
  }
}

TEST(OpenAiEmbedderTest, RejectsMalformedResponsesAndWrongWidths) {
  Fixture f;
  f.script->handler = [](const net::HttpRequest&, int call) -> Result<net::HttpResponse> {
    if (call == 0) return Reply(200, "not json");
    return Reply(200, R"({"data":[{"index":0,"embedding":[1,2,3]}]})");
  };
  auto embedder = OpenAiEmbedder::Create(f.Options());
  ASSERT_TRUE(embedder);
  auto first = (*embedder)->Embed({"a"});
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code(), StatusCode::kInternal);
  auto second = (*embedder)->Embed({"a"});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("width 3, expected 4"), std::string::npos) << second.error().message();
}

TEST(OpenAiEmbedderTest, ChecksBaseUrlAndProbesUnknownWidths) {
  Fixture f;
  f.script->handler = [](const net::HttpRequest& r, int) { return EchoLengths(r); };
  OpenAiEmbedderOptions options = f.Options();
  options.base_url = "http://api.example.com/v1";
  auto cleartext = OpenAiEmbedder::Create(options);
  ASSERT_FALSE(cleartext);
  EXPECT_EQ(cleartext.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(cleartext.error().message().find("loopback"), std::string::npos);
  options.base_url = "ftp://x";
  EXPECT_FALSE(OpenAiEmbedder::Create(options));

  options.base_url = "http://127.0.0.1:9/v1";
  options.dimension = 0;  // unknown model: one probe request
  auto probed = OpenAiEmbedder::Create(options);
  ASSERT_TRUE(probed) << probed.error().ToString();
  EXPECT_EQ((*probed)->dimension(), 4);
  EXPECT_EQ(f.script->requests.size(), 1u);
  EXPECT_FALSE(nlohmann::json::parse(f.script->requests[0].body).contains("dimensions"));

  options.model = "text-embedding-3-small";  // known width: no probe
  auto known = OpenAiEmbedder::Create(options);
  ASSERT_TRUE(known);
  EXPECT_EQ((*known)->dimension(), 1536);
  EXPECT_EQ(f.script->requests.size(), 1u);
}

// --- Real HTTP on loopback ----------------------------------------------------------------------------------

OpenAiEmbedderOptions LoopbackOptions(const std::string& base_url, const std::string& model) {
  OpenAiEmbedderOptions options;
  options.base_url = base_url;
  options.model = model;
  options.timeout = milliseconds(30000);
  return options;
}

std::vector<std::string> SampleTexts(int n) {
  std::vector<std::string> texts;
  for (int i = 0; i < n; ++i) {
    texts.push_back("ticket " + std::to_string(i) + ": my invoice shows a double charge, café ünïcode");
  }
  return texts;
}

TEST(OpenAiEmbedderServerTest, MatchesTheLocalModelThroughTheServer) {
  HashingEmbedder local(384);
  EmbeddingServerOptions server_options;
  server_options.model_name = "hashing";
  auto server = EmbeddingServer::Start(local, server_options);
  ASSERT_TRUE(server) << server.error().ToString();

  OpenAiEmbedderOptions options = LoopbackOptions((*server)->base_url(), "hashing");
  options.max_batch_texts = 16;
  options.concurrency = 3;
  auto client = OpenAiEmbedder::Create(options);  // learns the width (384) from the server
  ASSERT_TRUE(client) << client.error().ToString();
  EXPECT_EQ((*client)->dimension(), 384);
  const auto texts = SampleTexts(100);
  auto remote = (*client)->Embed(texts);
  ASSERT_TRUE(remote) << remote.error().ToString();
  auto expected = local.Embed(texts);
  ASSERT_TRUE(expected);
  ASSERT_EQ(remote->size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ((*remote)[i].size(), 384u);
    double dot = 0;
    for (size_t k = 0; k < 384; ++k) dot += (*remote)[i][k] * (*expected)[i][k];
    EXPECT_NEAR(dot, 1.0, 1e-5) << i;
  }
  EXPECT_EQ((*client)->requests_sent(), 1 + 7);  // the probe, then 100 texts in requests of 16

  // Another model name is refused as the server says (404 → InvalidArgument, no retry).
  auto other = OpenAiEmbedder::Create(LoopbackOptions((*server)->base_url(), "gpt-embed"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.error().message().find("not served here"), std::string::npos) << other.error().message();
}

TEST(OpenAiEmbedderServerTest, ServerRequiresItsKeyWhenConfigured) {
  HashingEmbedder local(64);
  EmbeddingServerOptions server_options;
  server_options.model_name = "hashing";
  server_options.api_key = "serve-secret";
  auto server = EmbeddingServer::Start(local, server_options);
  ASSERT_TRUE(server);
  OpenAiEmbedderOptions options = LoopbackOptions((*server)->base_url(), "hashing");
  options.dimension = 64;
  options.api_key = "wrong-key";
  auto wrong = OpenAiEmbedder::Create(options);
  ASSERT_TRUE(wrong);
  auto refused = (*wrong)->Embed({"hello"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(refused.error().message().find("wrong-key"), std::string::npos);
  options.api_key = "serve-secret";
  auto right = OpenAiEmbedder::Create(options);
  ASSERT_TRUE(right);
  EXPECT_TRUE((*right)->Embed({"hello"}));
}

TEST(OpenAiEmbedderServerTest, RetriesA429FromARealServerAfterItsRetryAfter) {
  httplib::Server server;
  std::atomic<int> calls{0};
  server.Post("/v1/embeddings", [&](const httplib::Request& req, httplib::Response& res) {
    if (calls++ < 2) {
      res.status = 429;
      res.set_header("Retry-After", "3");
      res.set_content(R"({"error":{"message":"rate limit"}})", "application/json");
      return;
    }
    auto body = nlohmann::json::parse(req.body);
    nlohmann::json data = nlohmann::json::array();
    for (size_t i = 0; i < body["input"].size(); ++i) data.push_back({{"index", i}, {"embedding", {0.6, 0.8}}});
    res.set_content(nlohmann::json{{"data", data}}.dump(), "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(milliseconds(1));

  std::vector<milliseconds> sleeps;
  OpenAiEmbedderOptions options = LoopbackOptions("http://127.0.0.1:" + std::to_string(port) + "/v1", "m");
  options.dimension = 2;
  options.sleep = [&](milliseconds wait) { sleeps.push_back(wait); };  // no real waiting in the test
  auto embedder = OpenAiEmbedder::Create(options);
  ASSERT_TRUE(embedder);
  auto vectors = (*embedder)->Embed({"a", "b"});
  server.stop();
  thread.join();
  ASSERT_TRUE(vectors) << vectors.error().ToString();
  EXPECT_EQ(calls.load(), 3);
  ASSERT_GE(sleeps.size(), 2u);
  for (milliseconds s : sleeps) {
    EXPECT_GE(s, milliseconds(2900));
    EXPECT_LE(s, milliseconds(3001));
  }
  EXPECT_NEAR((*vectors)[1][1], 0.8f, 1e-6);
}

TEST(OpenAiEmbedderServerTest, FactoryBuildsTheClientFromConfig) {
  HashingEmbedder local(384);
  EmbeddingServerOptions server_options;
  server_options.model_name = "hashing";
  auto server = EmbeddingServer::Start(local, server_options);
  ASSERT_TRUE(server);
  Config config;
  config.embedder = "openai";
  OpenAiEmbedderSettings openai;
  openai.base_url = (*server)->base_url();
  openai.model = "hashing";
  openai.WriteTo(config);
  auto embedder = MakeEmbedder(config);
  ASSERT_TRUE(embedder) << embedder.error().ToString();
  EXPECT_EQ((*embedder)->model_id(), "openai:hashing-384");
  auto vectors = (*embedder)->Embed({"refund please"});
  ASSERT_TRUE(vectors);
  EXPECT_EQ(vectors->at(0).size(), 384u);

  openai.base_url = "http://10.1.2.3/v1";  // the key would cross a network in clear
  openai.WriteTo(config);
  auto refused = MakeEmbedder(config);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(MakeEmbedder(std::string_view("openai")));
}

// Starts `deskpipe serve-embeddings --port 0 …` and reads its "listening on URL" line.
class ServeEmbeddingsProcess {
 public:
  explicit ServeEmbeddingsProcess(const std::vector<std::string>& args) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      std::string bin = DESKPIPE_BIN;
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (std::string& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    const std::string marker = "listening on ";
    if (line.rfind(marker, 0) == 0) url_ = line.substr(marker.size(), line.find(' ', marker.size()) - marker.size());
  }
  ~ServeEmbeddingsProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

TEST(OpenAiEmbedderServerTest, TalksToTheDeskpipeServeEmbeddingsBinary) {
  ServeEmbeddingsProcess process({"serve-embeddings", "--port", "0", "--model", "hashing"});
  ASSERT_FALSE(process.url().empty()) << "deskpipe serve-embeddings did not print its URL";
  ASSERT_EQ(process.url().rfind("http://127.0.0.1:", 0), 0u) << process.url();
  auto client = OpenAiEmbedder::Create(LoopbackOptions(process.url(), "hashing"));
  ASSERT_TRUE(client) << client.error().ToString();
  HashingEmbedder local;  // what `--model hashing` serves
  EXPECT_EQ((*client)->dimension(), local.dimension());
  const auto texts = SampleTexts(40);
  auto remote = (*client)->Embed(texts);
  ASSERT_TRUE(remote) << remote.error().ToString();
  auto expected = local.Embed(texts);
  ASSERT_TRUE(expected);
  for (size_t i = 0; i < texts.size(); ++i) {
    double dot = 0;
    for (size_t k = 0; k < (*remote)[i].size(); ++k) dot += (*remote)[i][k] * (*expected)[i][k];
    EXPECT_NEAR(dot, 1.0, 1e-5) << i;
  }
}

}  // namespace
}  // namespace deskpipe
