// `deskpipe serve` end to end over real HTTP: the real binary, the real emulator, the real store. Jobs (one
// per tenant under concurrent starts, cancel, kill -9 and SIGTERM then resume to the digest of a clean
// `deskpipe sync`), the event stream, the auth matrix, the SSRF refusal, bad requests, the rate limiter,
// metrics through Prometheus' own promtool, the OpenAPI document against the routes the server answers, and
// no secret in any response, log line or database file.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "e2e/command.h"
#include "e2e/scratch_dir_test.h"
#include "store/testing/pg_test_servers.h"

namespace deskpipe::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kAdminToken[] = "admin-token-for-the-serve-test-0123456789";
constexpr char kApiKey[] = "fd-key-S3CRET-serve-e2e-7f3a";
constexpr char kMasterKey[] = "7d1c4a9e0b2f38e5a6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d";

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct Reply {
  int status = 0;
  json body;
  std::string text;
  httplib::Headers headers;
};

// A running `deskpipe serve` on a free port, its output in a log file.
class ServeProcess {
 public:
  ServeProcess(const std::filesystem::path& data_dir, const std::filesystem::path& log,
               std::vector<std::string> extra = {})
      : log_(log) {
    setenv("DESKPIPE_ADMIN_TOKEN", kAdminToken, 1);
    setenv("DESKPIPE_MASTER_KEY", kMasterKey, 1);
    setenv("DESKPIPE_LOG_FORMAT", "json", 1);  // access log lines as JSON
    std::vector<std::string> args = {DESKPIPE_BIN, "serve", "--port", "0", "--data-dir", data_dir.string(),
                                     "--embedder", "hashing"};
    args.insert(args.end(), extra.begin(), extra.end());
    const size_t log_start = std::filesystem::exists(log) ? std::filesystem::file_size(log) : 0;
    pid_ = Spawn(args, log);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      const std::string text = ReadFile(log).substr(log_start);
      std::smatch match;
      if (std::regex_search(text, match, listening)) {
        port_ = std::stoi(match[1]);
        break;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait(pid_);
    }
  }
  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends `signal` and waits for the exit.
  Exit Stop(int signal) {
    kill(pid_, signal);
    Exit exit = Wait(pid_);
    pid_ = -1;
    return exit;
  }

  Reply Call(const std::string& method, const std::string& path, const std::string& token = kAdminToken,
             const std::string& body = "", const std::string& content_type = "application/json") const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(120, 0);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    httplib::Result result = method == "GET"    ? client.Get(path, headers)
                             : method == "PUT"  ? client.Put(path, headers, body, content_type)
                             : method == "POST" ? client.Post(path, headers, body, content_type)
                             : method == "DELETE" ? client.Delete(path, headers)
                                                  : client.Patch(path, headers, body, content_type);
    Reply reply;
    if (!result) return reply;
    reply.status = result->status;
    reply.text = result->body;
    reply.headers = result->headers;
    reply.body = json::parse(result->body, nullptr, false);
    return reply;
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

class ServeTest : public ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    StartEmulator({"--tickets", "150", "--seed", "7", "--api-key", kApiKey});
    if (HasFatalFailure()) return;
    data_dir_ = root_ / "data";
    log_ = root_ / "serve.log";
    server_ = std::make_unique<ServeProcess>(data_dir_, log_);
    ASSERT_TRUE(server_->ok()) << ReadFile(log_);
  }
  void TearDown() override {
    server_.reset();
    ScratchDirTest::TearDown();
  }

  // A larger helpdesk keeps a sync running for seconds (150 tickets take well under one): long enough to
  // watch, cancel, kill and stop it mid-way.
  // Its budget is raised so that the several syncs of one test never wait for the emulator's next window.
  void UseLargerHelpdesk(int tickets = 1200) {
    emulator_.reset();
    StartEmulator({"--tickets", std::to_string(tickets), "--seed", "7", "--api-key", kApiKey, "--budget", "1000000"});
  }

  // Registers `tenant` against the emulator; returns its token.
  std::string PutTenant(const std::string& tenant) {
    const Reply reply = server_->Call(
        "PUT", "/api/tenants/" + tenant, kAdminToken,
        json{{"platform", "freshdesk"}, {"base_url", emulator_->base_url()}, {"api_key", kApiKey}}.dump());
    EXPECT_EQ(reply.status, 201) << reply.text;
    return reply.body.value("token", "");
  }

  // Polls the tenant's status until its state is one of `states` (or 300 s pass); returns the last status.
  json WaitForState(const std::string& tenant, const std::set<std::string>& states,
                    const std::string& token = kAdminToken) {
    json status;
    const auto deadline = std::chrono::steady_clock::now() + 300s;
    while (std::chrono::steady_clock::now() < deadline) {
      const Reply reply = server_->Call("GET", "/api/ingest/status?tenant_id=" + tenant, token);
      status = reply.body;
      if (reply.status == 200 && states.contains(status.value("state", ""))) return status;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "tenant " << tenant << " never reached the state wanted; last status " << status.dump();
    return status;
  }

  // The digest `deskpipe digest` prints for `tenant` in `data_dir`.
  std::string Digest(const std::string& tenant, const std::filesystem::path& data_dir) {
    const CommandResult digest = RunCommand(DeskpipeArgs(DESKPIPE_BIN, "digest", tenant, data_dir.string()));
    EXPECT_EQ(digest.exit_code, 0) << digest.out;
    return digest.out;
  }

  // The digest of a clean `deskpipe sync` of the emulator into a directory of its own.
  std::string CleanSyncDigest() {
    const std::filesystem::path clean = root_ / "clean";
    const CommandResult sync = RunCommand(
        DeskpipeArgs(DESKPIPE_BIN, "sync", "acme", clean.string(),
                     {"--base-url", emulator_->base_url(), "--api-key", kApiKey}),
        " 2>&1");
    EXPECT_EQ(sync.exit_code, 0) << sync.out;
    return Digest("acme", clean);
  }

  std::filesystem::path data_dir_;
  std::filesystem::path log_;
  std::unique_ptr<ServeProcess> server_;
};

TEST_F(ServeTest, StartIsIdempotentUnderConcurrentCallersAndRunsToCompletion) {
  UseLargerHelpdesk();  // the first job is still active when the last caller arrives
  ASSERT_FALSE(HasFatalFailure());
  PutTenant("acme");
  std::vector<Reply> replies(8);
  std::vector<std::thread> callers;
  for (Reply& reply : replies) {
    callers.emplace_back([&] { reply = server_->Call("POST", "/api/ingest/start?tenant_id=acme&platform=freshdesk"); });
  }
  for (std::thread& caller : callers) caller.join();
  int started = 0;
  std::set<std::string> task_ids;
  for (const Reply& reply : replies) {
    ASSERT_TRUE(reply.status == 202 || reply.status == 200) << reply.text;
    started += reply.status == 202;
    EXPECT_EQ(reply.body["status"], reply.status == 202 ? "started" : "running");
    EXPECT_EQ(reply.body["tenant_id"], "acme");
    EXPECT_EQ(reply.body["platform"], "freshdesk");
    task_ids.insert(reply.body.value("task_id", ""));
  }
  EXPECT_EQ(started, 1);
  ASSERT_EQ(task_ids.size(), 1u) << "every caller must get the one job's task_id";

  const json running = WaitForState("acme", {"running", "succeeded"});
  for (const char* field : {"total_items", "processed_items", "failed_items", "current_stage", "start_time",
                            "estimated_completion", "completion_percentage", "task_id", "state", "streams",
                            "last_error", "heartbeat_at"}) {
    EXPECT_TRUE(running.contains(field)) << field << " missing from " << running.dump();
  }
  const json done = WaitForState("acme", {"succeeded", "failed"});
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["task_id"], *task_ids.begin());
  EXPECT_EQ(done["completion_percentage"], 100.0);
  EXPECT_GT(done["processed_items"].get<int64_t>(), 150);  // the tickets and the reference records
  EXPECT_TRUE(done["start_time"].is_string());

  // A new start after the end is a new job; the list holds both, newest first.
  const Reply again = server_->Call("POST", "/api/ingest/start", kAdminToken, R"({"tenant_id": "acme"})");
  EXPECT_EQ(again.status, 202) << again.text;
  EXPECT_NE(again.body["task_id"], *task_ids.begin());
  WaitForState("acme", {"succeeded"});
  const Reply jobs = server_->Call("GET", "/api/jobs?tenant_id=acme&limit=10");
  ASSERT_EQ(jobs.status, 200) << jobs.text;
  ASSERT_EQ(jobs.body["jobs"].size(), 2u);
  EXPECT_EQ(jobs.body["jobs"][0]["task_id"], again.body["task_id"]);
  EXPECT_TRUE(jobs.body["jobs"][1].contains("summary"));

  EXPECT_EQ(Digest("acme", data_dir_), CleanSyncDigest());

  const Reply search = server_->Call("GET", "/api/search?tenant_id=acme&q=refund%20charged%20twice&top_k=3");
  ASSERT_EQ(search.status, 200) << search.text;
  ASSERT_FALSE(search.body["hits"].empty());
  EXPECT_LE(search.body["hits"].size(), 3u);
  EXPECT_TRUE(search.body["hits"][0]["metadata"].contains("url")) << search.body["hits"][0].dump();

  // Filters narrow both lists; each hit's snippet marks the words that matched (HTML-escaped around them).
  const Reply urgent = server_->Call(
      "GET", "/api/search?tenant_id=acme&q=refund%20charged%20twice&type=ticket&priority=urgent,high&top_k=10");
  ASSERT_EQ(urgent.status, 200) << urgent.text;
  ASSERT_FALSE(urgent.body["hits"].empty());
  std::set<std::string> documents;
  bool marked = false;
  for (const json& hit : urgent.body["hits"]) {
    const std::string priority = hit["metadata"].value("priority", "");
    EXPECT_TRUE(priority == "urgent" || priority == "high") << hit.dump();
    EXPECT_TRUE(documents.insert(hit["document_id"].get<std::string>()).second) << "one hit per ticket";
    marked = marked || hit["snippet"].get<std::string>().find("<mark>") != std::string::npos;
  }
  EXPECT_TRUE(marked) << urgent.text;
  const Reply nobody = server_->Call("GET", "/api/search?tenant_id=acme&q=refund&priority=no-such-priority");
  ASSERT_EQ(nobody.status, 200) << nobody.text;
  EXPECT_TRUE(nobody.body["hits"].empty()) << nobody.text;
  EXPECT_EQ(server_->Call("GET", "/api/search?tenant_id=acme&q=refund&created_from=yesterday").status, 400);

  // What a copilot asks when an agent opens a ticket: similar tickets (itself excluded) and the articles.
  const Reply tickets = server_->Call("GET", "/api/search?tenant_id=acme&q=export&type=ticket&top_k=1");
  ASSERT_EQ(tickets.status, 200) << tickets.text;
  ASSERT_EQ(tickets.body["hits"].size(), 1u);
  const std::string document_id = tickets.body["hits"][0]["document_id"];
  const std::string ticket_id = document_id.substr(document_id.rfind('_') + 1);
  const Reply similar = server_->Call("GET", "/api/tenants/acme/tickets/" + ticket_id + "/similar?top_k=4");
  ASSERT_EQ(similar.status, 200) << similar.text;
  ASSERT_FALSE(similar.body["tickets"].empty());
  EXPECT_LE(similar.body["tickets"].size(), 4u);
  for (const json& hit : similar.body["tickets"]) {
    EXPECT_NE(hit["document_id"], document_id) << "the ticket itself is not similar to itself";
    EXPECT_EQ(hit["type"], "ticket");
  }
  ASSERT_FALSE(similar.body["articles"].empty());
  for (const json& hit : similar.body["articles"]) EXPECT_EQ(hit["type"], "article");
  EXPECT_EQ(server_->Call("GET", "/api/tenants/acme/tickets/999999/similar").status, 404);

  // Dead letters: none after a clean sync, and a retry of none reads nothing again.
  const Reply letters = server_->Call("GET", "/api/dead-letters?tenant_id=acme");
  ASSERT_EQ(letters.status, 200) << letters.text;
  EXPECT_TRUE(letters.body["dead_letters"].empty());
  const Reply retry = server_->Call("POST", "/api/dead-letters/retry?tenant_id=acme");
  ASSERT_EQ(retry.status, 200) << retry.text;
  EXPECT_EQ(retry.body["retry"]["retried"], 0) << retry.text;

  // Deleting the tenant removes its data, as `deskpipe reset` does, and the tenant.
  const Reply deleted = server_->Call("DELETE", "/api/tenants/acme");
  ASSERT_EQ(deleted.status, 200) << deleted.text;
  EXPECT_GT(deleted.body["removed"]["documents"].get<int64_t>(), 0);
  EXPECT_EQ(server_->Call("GET", "/api/tenants/acme").status, 404);
  EXPECT_EQ(server_->Call("GET", "/api/jobs?tenant_id=acme").status, 404);
  const CommandResult digest = RunCommand(DeskpipeArgs(DESKPIPE_BIN, "digest", "acme", data_dir_.string()));
  EXPECT_NE(digest.out, CleanSyncDigest()) << "the tenant's documents are gone";
}

TEST_F(ServeTest, CancelIsAcknowledgedAndTheJobStopsAfterItsBatchInHand) {
  UseLargerHelpdesk();
  ASSERT_FALSE(HasFatalFailure());
  PutTenant("acme");
  const Reply start = server_->Call("POST", "/api/ingest/start?tenant_id=acme");
  ASSERT_EQ(start.status, 202) << start.text;
  WaitForState("acme", {"running"});
  const Reply cancel = server_->Call("POST", "/api/ingest/cancel?tenant_id=acme");
  ASSERT_EQ(cancel.status, 202) << cancel.text;
  EXPECT_EQ(cancel.body["task_id"], start.body["task_id"]);
  const json ended = WaitForState("acme", {"cancelled", "succeeded", "failed"});
  EXPECT_EQ(ended["state"], "cancelled") << ended.dump();
  // Nothing left to cancel; no new job was spawned by the cancel.
  EXPECT_EQ(server_->Call("POST", "/api/ingest/cancel?tenant_id=acme").status, 409);
  EXPECT_EQ(server_->Call("GET", "/api/jobs?tenant_id=acme").body["jobs"].size(), 1u);
  // The next start resumes from the cursors the cancelled job committed, to the clean sync's data.
  ASSERT_EQ(server_->Call("POST", "/api/ingest/start?tenant_id=acme").status, 202);
  EXPECT_EQ(WaitForState("acme", {"succeeded", "failed"})["state"], "succeeded");
  EXPECT_EQ(Digest("acme", data_dir_), CleanSyncDigest());
}

TEST_F(ServeTest, KillNineMidJobThenRestartResumesToTheCleanDigest) {
  UseLargerHelpdesk();
  ASSERT_FALSE(HasFatalFailure());
  PutTenant("acme");
  const Reply start = server_->Call("POST", "/api/ingest/start?tenant_id=acme");
  ASSERT_EQ(start.status, 202) << start.text;
  // Wait until some records are committed, then kill the server without a chance to clean up.
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    const json status = server_->Call("GET", "/api/ingest/status?tenant_id=acme").body;
    if (status.value("processed_items", 0) > 0 && status.value("state", "") == "running") break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(server_->Stop(SIGKILL).signal, SIGKILL);

  server_ = std::make_unique<ServeProcess>(data_dir_, log_);
  ASSERT_TRUE(server_->ok()) << ReadFile(log_);
  const json resumed = WaitForState("acme", {"succeeded", "failed"});
  EXPECT_EQ(resumed["state"], "succeeded") << resumed.dump();
  EXPECT_EQ(resumed["trigger"], "resume");
  const json jobs = server_->Call("GET", "/api/jobs?tenant_id=acme").body["jobs"];
  ASSERT_EQ(jobs.size(), 2u) << jobs.dump();
  EXPECT_EQ(jobs[1]["task_id"], start.body["task_id"]);
  EXPECT_EQ(jobs[1]["state"], "interrupted");
  EXPECT_EQ(Digest("acme", data_dir_), CleanSyncDigest());
}

TEST_F(ServeTest, SigtermLetsTheJobStopCleanlyExitsZeroAndTheNextStartResumes) {
  UseLargerHelpdesk();
  ASSERT_FALSE(HasFatalFailure());
  PutTenant("acme");
  ASSERT_EQ(server_->Call("POST", "/api/ingest/start?tenant_id=acme").status, 202);
  WaitForState("acme", {"running"});
  const Exit exit = server_->Stop(SIGTERM);
  EXPECT_TRUE(exit.exited) << "signal " << exit.signal;
  EXPECT_EQ(exit.code, 0);

  server_ = std::make_unique<ServeProcess>(data_dir_, log_);
  ASSERT_TRUE(server_->ok()) << ReadFile(log_);
  EXPECT_EQ(WaitForState("acme", {"succeeded", "failed"})["state"], "succeeded");
  const json jobs = server_->Call("GET", "/api/jobs?tenant_id=acme").body["jobs"];
  ASSERT_EQ(jobs.size(), 2u) << jobs.dump();
  EXPECT_EQ(jobs[1]["state"], "interrupted");
  EXPECT_EQ(Digest("acme", data_dir_), CleanSyncDigest());
}

TEST_F(ServeTest, EventStreamSendsProgressAndStatesAndEndsAfterTheTerminalState) {
  UseLargerHelpdesk(4000);  // a sync of several seconds: several progress events
  ASSERT_FALSE(HasFatalFailure());
  const std::string token = PutTenant("acme");
  ASSERT_EQ(server_->Call("POST", "/api/ingest/start?tenant_id=acme").status, 202);
  httplib::Client client("127.0.0.1", server_->port());
  client.set_read_timeout(300, 0);
  std::string stream;
  std::vector<std::chrono::steady_clock::time_point> progress_at;  // when each progress event arrived
  // The tenant's own token, as a browser's EventSource sends it.
  auto result = client.Get("/api/ingest/events?tenant_id=acme&access_token=" + token,
                           [&](const char* data, size_t size) {
                             const std::string chunk(data, size);
                             for (size_t at = chunk.find("event: progress"); at != std::string::npos;
                                  at = chunk.find("event: progress", at + 1)) {
                               progress_at.push_back(std::chrono::steady_clock::now());
                             }
                             stream.append(chunk);
                             return true;
                           });
  ASSERT_TRUE(result) << "the stream did not end";
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/event-stream");
  int progress = 0;
  std::vector<std::string> states;
  std::istringstream lines(stream);
  std::string line, event;
  while (std::getline(lines, line)) {
    if (line.rfind("event: ", 0) == 0) event = line.substr(7);
    if (line.rfind("data: ", 0) == 0) {
      const json data = json::parse(line.substr(6));
      if (event == "progress") ++progress;
      if (event == "state") states.push_back(data["state"]);
      EXPECT_EQ(data["tenant_id"], "acme");
    }
  }
  EXPECT_GE(progress, 2) << stream.substr(0, 2000);
  for (size_t i = 1; i < progress_at.size(); ++i) {
    EXPECT_LE(progress_at[i] - progress_at[i - 1], 2500ms) << "a progress event at least every 2 s while running";
  }
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back(), "succeeded") << stream.substr(stream.size() > 2000 ? stream.size() - 2000 : 0);
  EXPECT_TRUE(std::find(states.begin(), states.end(), "running") != states.end());
}

TEST_F(ServeTest, JobsRunAtMostNAtOnceInQueueOrderAndSchedulesRepeat) {
  UseLargerHelpdesk();  // syncs of a few seconds each, so an overlap would show in whole seconds
  ASSERT_FALSE(HasFatalFailure());
  server_.reset();
  server_ = std::make_unique<ServeProcess>(data_dir_, log_, std::vector<std::string>{"--jobs", "1"});
  ASSERT_TRUE(server_->ok()) << ReadFile(log_);
  const std::vector<std::string> tenants = {"first", "second", "third"};
  for (const std::string& tenant : tenants) {
    PutTenant(tenant);
    ASSERT_EQ(server_->Call("POST", "/api/ingest/start?tenant_id=" + tenant).status, 202);
  }
  std::vector<json> ended;
  for (const std::string& tenant : tenants) ended.push_back(WaitForState(tenant, {"succeeded", "failed"}));
  for (size_t i = 0; i < ended.size(); ++i) {
    ASSERT_EQ(ended[i]["state"], "succeeded") << ended[i].dump();
    if (i == 0) continue;
    // --jobs 1: each job started once the one queued before it had ended (ISO times compare as text).
    EXPECT_GE(ended[i]["start_time"].get<std::string>(), ended[i - 1]["end_time"].get<std::string>())
        << tenants[i] << " overlapped " << tenants[i - 1];
  }

  // A schedule: a sync at once (the tenant never ran), then another one period after it ended.
  const Reply put = server_->Call("PUT", "/api/tenants/scheduled", kAdminToken,
                                  json{{"platform", "freshdesk"}, {"base_url", emulator_->base_url()},
                                       {"api_key", kApiKey}, {"schedule_seconds", 10}}.dump());
  ASSERT_EQ(put.status, 201) << put.text;
  json jobs;
  const auto schedule_deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < schedule_deadline) {
    jobs = server_->Call("GET", "/api/jobs?tenant_id=scheduled").body["jobs"];
    if (jobs.size() >= 2 && jobs[1].value("state", "") == "succeeded") break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_GE(jobs.size(), 2u) << jobs.dump();
  for (const json& job : jobs) EXPECT_EQ(job["trigger"], "schedule");
  // The second one was queued at least one period after the first ended (never two at once).
  const std::string first_end = jobs[1]["end_time"], second_queued = jobs[0]["queued_at"];
  EXPECT_GE(second_queued, first_end);
}

TEST_F(ServeTest, ASlowJobKeepsHeartbeatingAndIsNeverFailed) {
  UseLargerHelpdesk();
  ASSERT_FALSE(HasFatalFailure());
  // A CLI sync of the same tenant holds its write lock; the service's job waits for it, alive.
  PutTenant("acme");
  const pid_t cli = Spawn(DeskpipeArgs(DESKPIPE_BIN, "sync", "acme", data_dir_.string(),
                                       {"--base-url", emulator_->base_url(), "--api-key", kApiKey}),
                          root_ / "cli.log");
  ASSERT_GT(cli, 0);
  std::this_thread::sleep_for(1500ms);  // the CLI has the lock
  ASSERT_EQ(server_->Call("POST", "/api/ingest/start?tenant_id=acme").status, 202);
  const json first = WaitForState("acme", {"running"});
  std::this_thread::sleep_for(3s);
  const json later = server_->Call("GET", "/api/ingest/status?tenant_id=acme").body;
  EXPECT_EQ(Wait(cli).code, 0) << ReadFile(root_ / "cli.log");
  if (later["state"] == "running") {  // still waiting for the lock, and still alive
    EXPECT_GT(later["heartbeat_at"].get<std::string>(), first["heartbeat_at"].get<std::string>());
  }
  const json done = WaitForState("acme", {"succeeded", "failed", "interrupted"});
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
}

TEST_F(ServeTest, TenantsAndJobsLiveInPostgresWithStore) {
  auto url = deskpipe::testing::PostgresServerUrl();
  ASSERT_TRUE(url) << url.error().ToString();
  ASSERT_TRUE(deskpipe::testing::ResetSchema(*url));
  server_.reset();
  data_dir_ = root_ / "pg-data";  // the master key lives here; the rows do not
  server_ = std::make_unique<ServeProcess>(data_dir_, log_, std::vector<std::string>{"--store", *url});
  ASSERT_TRUE(server_->ok()) << ReadFile(log_);
  const std::string token = PutTenant("acme");
  const Reply start = server_->Call("POST", "/api/ingest/start?tenant_id=acme", token);
  ASSERT_EQ(start.status, 202) << start.text;
  EXPECT_EQ(WaitForState("acme", {"succeeded", "failed"}, token)["state"], "succeeded");
  EXPECT_EQ(server_->Call("GET", "/api/search?tenant_id=acme&q=invoice", token).status, 200);
  // A new process finds the tenant, its token and its job in PostgreSQL; nothing went to SQLite.
  server_.reset();
  server_ = std::make_unique<ServeProcess>(data_dir_, log_, std::vector<std::string>{"--store", *url});
  ASSERT_TRUE(server_->ok()) << ReadFile(log_);
  const json jobs = server_->Call("GET", "/api/jobs?tenant_id=acme", token).body["jobs"];
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  EXPECT_EQ(jobs[0]["task_id"], start.body["task_id"]);
  EXPECT_FALSE(std::filesystem::exists(data_dir_ / "service.db"));
}

TEST(ServeStartTest, RefusesToServeWithoutAnAdminTokenUnlessLoopbackAndInsecureNoAuth) {
  const std::string data_dir = (std::filesystem::temp_directory_path() / ("deskpipe-serve-start-" +
                                                                          std::to_string(getpid()))).string();
  const std::vector<std::string> without_token = {"env", "-u", "DESKPIPE_ADMIN_TOKEN", DESKPIPE_BIN, "serve",
                                                  "--port", "0", "--data-dir", data_dir};
  const CommandResult refused = RunCommand(without_token, " 2>&1");
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_NE(refused.out.find("DESKPIPE_ADMIN_TOKEN"), std::string::npos) << refused.out;
  std::vector<std::string> wide = without_token;
  wide.insert(wide.end(), {"--listen", "0.0.0.0:0", "--insecure-no-auth"});
  const CommandResult not_loopback = RunCommand(wide, " 2>&1");
  EXPECT_EQ(not_loopback.exit_code, 2) << not_loopback.out;
  EXPECT_NE(not_loopback.out.find("loopback"), std::string::npos) << not_loopback.out;
  const CommandResult bad_listen = RunCommand({DESKPIPE_BIN, "serve", "--listen", "127.0.0.1:99999"}, " 2>&1");
  EXPECT_EQ(bad_listen.exit_code, 2) << bad_listen.out;
  std::filesystem::remove_all(data_dir);
}

TEST_F(ServeTest, AuthMatrix) {
  const std::string acme = PutTenant("acme");
  const std::string globex = PutTenant("globex");
  ASSERT_FALSE(acme.empty());
  EXPECT_NE(acme, globex);
  // No token, a wrong one.
  EXPECT_EQ(server_->Call("GET", "/api/ingest/status?tenant_id=acme", "").status, 401);
  EXPECT_EQ(server_->Call("GET", "/api/ingest/status?tenant_id=acme", "dp_not-a-token").status, 401);
  EXPECT_EQ(server_->Call("GET", "/api/tenants", "").status, 401);
  // A tenant: its own routes yes; another tenant's as if it did not exist; admin routes no.
  EXPECT_EQ(server_->Call("GET", "/api/ingest/status?tenant_id=acme", acme).status, 404);  // no job yet
  EXPECT_EQ(server_->Call("GET", "/api/ingest/status?tenant_id=acme", acme).body["error"]["code"], "no_job");
  EXPECT_EQ(server_->Call("GET", "/api/tenants/acme", acme).status, 200);
  EXPECT_EQ(server_->Call("GET", "/api/whoami", acme).body["tenant_id"], "acme");
  const Reply other = server_->Call("GET", "/api/tenants/globex", acme);
  const Reply missing = server_->Call("GET", "/api/tenants/nobody", acme);
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(server_->Call("POST", "/api/ingest/start?tenant_id=globex", acme).status, 404);
  EXPECT_EQ(server_->Call("GET", "/api/search?tenant_id=globex&q=x", acme).status, 404);
  EXPECT_EQ(server_->Call("GET", "/api/dead-letters?tenant_id=globex", acme).status, 404);
  EXPECT_EQ(server_->Call("GET", "/api/tenants", acme).status, 403);
  EXPECT_EQ(server_->Call("DELETE", "/api/tenants/acme", acme).status, 403);
  EXPECT_EQ(server_->Call("GET", "/metrics", acme).status, 403);
  // The admin may do everything.
  EXPECT_EQ(server_->Call("GET", "/api/tenants").body["tenants"].size(), 2u);
  EXPECT_EQ(server_->Call("GET", "/api/whoami").body["role"], "admin");
  // A rotated token replaces the old one.
  const Reply rotated = server_->Call("POST", "/api/tenants/acme/token");
  ASSERT_EQ(rotated.status, 200) << rotated.text;
  EXPECT_EQ(server_->Call("GET", "/api/tenants/acme", acme).status, 401);
  EXPECT_EQ(server_->Call("GET", "/api/tenants/acme", rotated.body["token"]).status, 200);
  // Public routes.
  EXPECT_EQ(server_->Call("GET", "/healthz", "").status, 200);
  EXPECT_EQ(server_->Call("GET", "/readyz", "").status, 200);
  EXPECT_EQ(server_->Call("GET", "/", "").status, 200);
}

TEST_F(ServeTest, BaseUrlOutsideLoopbackAndTheAllowlistIsRefusedAndNothingIsStored) {
  for (const char* url : {"http://169.254.169.254/latest/meta-data", "https://evil.example.com", "http://10.0.0.7:8080",
                          "file:///etc/passwd"}) {
    const Reply reply = server_->Call("PUT", "/api/tenants/acme", kAdminToken,
                                      json{{"platform", "freshdesk"}, {"base_url", url}, {"api_key", kApiKey}}.dump());
    EXPECT_EQ(reply.status, 400) << url << ": " << reply.text;
    EXPECT_EQ(reply.body["error"]["field"], "base_url") << reply.text;
  }
  EXPECT_EQ(server_->Call("GET", "/api/tenants/acme").status, 404);
}

TEST_F(ServeTest, BadRequestsGetClearErrors) {
  PutTenant("acme");
  auto expect_error = [](const Reply& reply, int status, const std::string& code) {
    EXPECT_EQ(reply.status, status) << reply.text;
    ASSERT_TRUE(reply.body.is_object()) << reply.text;
    EXPECT_EQ(reply.body["error"]["code"], code) << reply.text;
    EXPECT_FALSE(reply.body["error"]["message"].get<std::string>().empty());
  };
  expect_error(server_->Call("PUT", "/api/tenants/acme", kAdminToken, "{\"platform\": "), 400, "malformed_json");
  expect_error(server_->Call("PUT", "/api/tenants/acme", kAdminToken, "[1,2]"), 400, "bad_request");
  expect_error(server_->Call("PUT", "/api/tenants/acme", kAdminToken, R"({"platform": "freshdesk"})", "text/plain"),
               415, "unsupported_media_type");
  const Reply unknown = server_->Call("PUT", "/api/tenants/acme", kAdminToken, R"({"colour": "blue"})");
  expect_error(unknown, 400, "invalid_field");
  EXPECT_EQ(unknown.body["error"]["field"], "colour");
  const Reply mode = server_->Call("PUT", "/api/tenants/acme", kAdminToken, R"({"mode": "fast"})");
  EXPECT_EQ(mode.body["error"]["field"], "mode");
  expect_error(server_->Call("PUT", "/api/tenants/bad%20id", kAdminToken, R"({"platform": "freshdesk"})"), 400,
               "bad_request");
  expect_error(server_->Call("PUT", "/api/tenants/x", kAdminToken, std::string(2 << 20, ' ')), 413, "payload_too_large");
  expect_error(server_->Call("GET", "/api/search?tenant_id=acme&q="), 400, "bad_request");
  expect_error(server_->Call("GET", "/api/search?tenant_id=acme&q=x&top_k=zero"), 400, "bad_request");
  expect_error(server_->Call("GET", "/api/search?tenant_id=acme&q=x&type=bogus"), 400, "bad_request");
  expect_error(server_->Call("GET", "/api/ingest/status"), 400, "bad_request");
  expect_error(server_->Call("POST", "/api/ingest/start?tenant_id=acme&platform=zendesk"), 400, "invalid_field");
  expect_error(server_->Call("GET", "/api/nothing-here"), 404, "not_found");
  const Reply method = server_->Call("DELETE", "/api/ingest/status?tenant_id=acme");
  expect_error(method, 405, "method_not_allowed");
  EXPECT_EQ(method.headers.find("Allow")->second, "GET");
  // The server is still fine.
  EXPECT_EQ(server_->Call("GET", "/api/tenants/acme").status, 200);
}

TEST_F(ServeTest, AClientThatStallsMidRequestIsCutOffAndOthersAreServed) {
  const int stalled = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(stalled, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(server_->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(stalled, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const std::string partial = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";  // the headers never end
  ASSERT_EQ(send(stalled, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  EXPECT_EQ(server_->Call("GET", "/healthz", "").status, 200) << "a stalled client holds no one else up";
  timeval patience{60, 0};  // far beyond the server's read timeout
  setsockopt(stalled, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
  char buffer[512];
  const ssize_t got = recv(stalled, buffer, sizeof(buffer), 0);
  EXPECT_GE(got, 0) << "the server never dropped the stalled connection";  // 0: closed (or an error answer)
  close(stalled);
}

TEST_F(ServeTest, PerTokenRateLimitAnswers429WithRetryAfter) {
  server_.reset();
  server_ = std::make_unique<ServeProcess>(data_dir_, log_, std::vector<std::string>{"--rate-limit", "5"});
  ASSERT_TRUE(server_->ok()) << ReadFile(log_);
  const std::string token = PutTenant("acme");
  int limited = 0;
  std::string retry_after;
  for (int i = 0; i < 40; ++i) {
    const Reply reply = server_->Call("GET", "/api/tenants/acme", token);
    if (reply.status == 429) {
      ++limited;
      retry_after = reply.headers.find("Retry-After")->second;
      EXPECT_EQ(reply.body["error"]["code"], "rate_limited");
    }
  }
  EXPECT_GT(limited, 0);
  EXPECT_FALSE(retry_after.empty());
  // Another token has its own budget.
  EXPECT_EQ(server_->Call("GET", "/api/tenants").status, 200);
}

TEST_F(ServeTest, MetricsPassPromtoolAndCountWhatHappened) {
  PutTenant("acme");
  ASSERT_EQ(server_->Call("POST", "/api/ingest/start?tenant_id=acme").status, 202);
  WaitForState("acme", {"succeeded"});
  ASSERT_EQ(server_->Call("GET", "/api/search?tenant_id=acme&q=password").status, 200);
  // A request is counted once its response has been written, which can be after the client has read it.
  Reply metrics = server_->Call("GET", "/metrics");
  for (int i = 0; i < 50 && metrics.text.find("route=\"GET /api/search\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    metrics = server_->Call("GET", "/metrics");
  }
  ASSERT_EQ(metrics.status, 200);
  const std::filesystem::path file = root_ / "metrics.txt";
  std::ofstream(file) << metrics.text;
  const CommandResult promtool = RunCommand({"promtool", "check", "metrics"}, " < " + ShellQuote(file) + " 2>&1");
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out;
  for (const char* needle :
       {"deskpipe_jobs_ended_total{state=\"succeeded\"} 1", "deskpipe_records_written_total{stream=\"tickets\",tenant=\"acme\"}",
        "deskpipe_chunks_written_total{stream=\"tickets\",tenant=\"acme\"}", "deskpipe_helpdesk_requests_total{tenant=\"acme\"}",
        "deskpipe_helpdesk_credits_total{tenant=\"acme\"}", "deskpipe_helpdesk_throttled_total{tenant=\"acme\"}",
        "deskpipe_job_duration_seconds_count{state=\"succeeded\"} 1",
        "deskpipe_http_requests_total{code=\"202\",route=\"POST /api/ingest/start\"} 1",
        "deskpipe_http_request_duration_seconds_bucket{route=\"GET /api/search\"",
        "deskpipe_http_request_duration_seconds_bucket{route=\"GET /api/ingest/status\"",
        "deskpipe_embedding_duration_seconds_count"}) {
    EXPECT_NE(metrics.text.find(needle), std::string::npos) << needle;
  }
  EXPECT_EQ(metrics.text.find(kApiKey), std::string::npos);
}

TEST_F(ServeTest, OpenApiDocumentsExactlyTheRoutesTheServerAnswers) {
  PutTenant("acme");
  const Reply doc = server_->Call("GET", "/openapi.json", "");
  ASSERT_EQ(doc.status, 200);
  EXPECT_EQ(doc.body["openapi"].get<std::string>().substr(0, 2), "3.");
  int operations = 0;
  for (const auto& [path, methods] : doc.body["paths"].items()) {
    for (const auto& [method, operation] : methods.items()) {
      ++operations;
      std::string concrete = std::regex_replace(path, std::regex(R"(\{tenant_id\})"), "acme");
      concrete = std::regex_replace(concrete, std::regex(R"(\{ticket_id\})"), "1");
      if (path.rfind("/api/", 0) == 0 && concrete.find('?') == std::string::npos) {
        concrete += "?tenant_id=acme&q=x";
      }
      if (method == "delete" || path == "/api/ingest/events" || path == "/api/dead-letters/retry") continue;
      std::string upper = method;
      std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
      const Reply reply = server_->Call(upper, concrete, kAdminToken, "{}");
      const bool unrouted = reply.status == 405 || (reply.status == 404 && reply.body.is_object() &&
                                                     reply.body["error"]["message"].get<std::string>().rfind("no route", 0) == 0);
      EXPECT_FALSE(unrouted) << method << " " << path << " is documented but not served: " << reply.text;
    }
  }
  EXPECT_GE(operations, 19);
  // A route the server does not have is not in the document, and answers 404.
  EXPECT_FALSE(doc.body["paths"].contains("/api/nothing"));
  EXPECT_EQ(server_->Call("GET", "/api/nothing").status, 404);
}

TEST_F(ServeTest, NoSecretInResponsesLogsOrDatabaseFiles) {
  const Reply put = server_->Call(
      "PUT", "/api/tenants/acme", kAdminToken,
      json{{"platform", "freshdesk"}, {"base_url", emulator_->base_url()}, {"api_key", kApiKey}}.dump());
  ASSERT_EQ(put.status, 201);
  const std::string token = put.body["token"];
  EXPECT_EQ(put.text.find(kApiKey), std::string::npos);
  EXPECT_TRUE(put.body["api_key_set"].get<bool>());
  std::string responses;  // every response after the one that hands out the token, once
  ASSERT_EQ(server_->Call("POST", "/api/ingest/start?tenant_id=acme", token).status, 202);
  WaitForState("acme", {"succeeded"}, token);
  for (const char* path : {"/api/tenants", "/api/tenants/acme", "/api/ingest/status?tenant_id=acme",
                           "/api/jobs?tenant_id=acme", "/metrics", "/api/dead-letters?tenant_id=acme"}) {
    responses += server_->Call("GET", path).text;
  }
  // A wrong key is refused by the helpdesk; its error must not echo the key either.
  const std::string wrong_key = "fd-key-WRONG-but-still-secret-91";
  ASSERT_EQ(server_->Call("PUT", "/api/tenants/acme", kAdminToken, json{{"api_key", wrong_key}}.dump()).status, 200);
  ASSERT_EQ(server_->Call("POST", "/api/ingest/start?tenant_id=acme").status, 202);
  const json failed = WaitForState("acme", {"failed", "succeeded"});
  responses += failed.dump();
  server_->Stop(SIGTERM);

  std::string files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir_)) {
    if (entry.is_regular_file()) files += ReadFile(entry.path());
  }
  const std::string log = ReadFile(log_);
  for (const std::string& secret : {std::string(kApiKey), wrong_key, token, std::string(kAdminToken),
                                    std::string(kMasterKey)}) {
    EXPECT_EQ(responses.find(secret), std::string::npos) << "a response holds " << secret;
    EXPECT_EQ(log.find(secret), std::string::npos) << "the log holds " << secret;
    EXPECT_EQ(files.find(secret), std::string::npos) << "a database file holds " << secret;
  }
  EXPECT_NE(log.find("\"route\""), std::string::npos) << "access log lines are JSON with the route";
}

}  // namespace
}  // namespace deskpipe::e2e
