// A fleet of `deskpipe serve` workers sharing one real PostgreSQL 15 (started by the test), syncing tenants
// from the Freshdesk emulator with short leases: kill -9 of workers mid-job, a worker paused past its lease
// and fenced out when it wakes, and concurrent starts spread over the workers. Every tenant must end with
// the digest of a clean single-process `deskpipe sync` of the same emulator data into a database of its own.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "e2e/command.h"
#include "e2e/scratch_dir_test.h"
#include "store/pg_connection.h"
#include "store/testing/pg_test_servers.h"

namespace deskpipe::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kAdminToken[] = "admin-token-for-the-workers-test-0123456789";
constexpr char kApiKey[] = "fd-key-S3CRET-workers-e2e-51c2";
constexpr char kMasterKey[] = "5a1c4a9e0b2f38e5a6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d";
constexpr char kLeaseSeconds[] = "3";

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
};

// One `deskpipe serve` worker on a free port, its output appended to its own log file.
class Worker {
 public:
  Worker(std::string id, std::filesystem::path data_dir, std::filesystem::path log, std::string store_url)
      : id_(std::move(id)),
        data_dir_(std::move(data_dir)),
        log_(std::move(log)),
        store_url_(std::move(store_url)) {}
  ~Worker() { Kill(); }

  // Starts the process; false when it did not say it listens within 60 s.
  bool Start() {
    setenv("DESKPIPE_ADMIN_TOKEN", kAdminToken, 1);
    setenv("DESKPIPE_MASTER_KEY", kMasterKey, 1);
    const size_t log_start = std::filesystem::exists(log_) ? std::filesystem::file_size(log_) : 0;
    pid_ = Spawn(
        {DESKPIPE_BIN, "serve", "--port", "0", "--data-dir", data_dir_.string(), "--embedder", "hashing",
         "--store", store_url_, "--worker-id", id_, "--jobs", "2", "--lease-seconds", kLeaseSeconds},
        log_);
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      std::smatch match;
      const std::string text = ReadFile(log_).substr(log_start);
      if (std::regex_search(text, match, listening)) {
        port_ = std::stoi(match[1]);
        return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);  // a paused one must be able to die
    kill(pid_, SIGKILL);
    Wait(pid_);
    pid_ = -1;
    port_ = 0;
  }
  void Signal(int signal) const { kill(pid_, signal); }

  Reply Call(const std::string& method, const std::string& path, const std::string& body = "") const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(60, 0);
    const httplib::Headers headers = {{"Authorization", std::string("Bearer ") + kAdminToken}};
    httplib::Result result = method == "GET"   ? client.Get(path, headers)
                             : method == "PUT" ? client.Put(path, headers, body, "application/json")
                                               : client.Post(path, headers, body, "application/json");
    Reply reply;
    if (!result) return reply;
    reply.status = result->status;
    reply.text = result->body;
    reply.body = json::parse(result->body, nullptr, false);
    return reply;
  }

  const std::string& id() const { return id_; }
  const std::filesystem::path& log() const { return log_; }
  bool alive() const { return pid_ > 0; }

 private:
  std::string id_;
  std::filesystem::path data_dir_;
  std::filesystem::path log_;
  std::string store_url_;
  pid_t pid_ = -1;
  int port_ = 0;
};

class WorkersTest : public ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    auto url = deskpipe::testing::PostgresServerUrl();
    ASSERT_TRUE(url) << url.error().ToString();
    url_ = *url;
    ASSERT_TRUE(deskpipe::testing::ResetSchema(url_));
    // The clean syncs go to a database of their own on the same server.
    auto admin = pg::PgConnection::Connect(url_);
    ASSERT_TRUE(admin) << admin.error().ToString();
    ASSERT_TRUE((*admin)->ExecScript("DROP DATABASE IF EXISTS workers_clean"));
    ASSERT_TRUE((*admin)->ExecScript("CREATE DATABASE workers_clean"));
    clean_url_ = std::regex_replace(url_, std::regex("/postgres\\?"), "/workers_clean?");
    ASSERT_NE(clean_url_, url_);
    StartEmulator({"--tickets", "400", "--seed", "11", "--api-key", kApiKey, "--budget", "1000000"});
  }
  void TearDown() override {
    workers_.clear();
    ScratchDirTest::TearDown();
  }

  Worker& AddWorker(const std::string& id) {
    workers_.push_back(std::make_unique<Worker>(id, root_ / ("data-" + id), root_ / (id + ".log"), url_));
    EXPECT_TRUE(workers_.back()->Start()) << ReadFile(workers_.back()->log());
    return *workers_.back();
  }
  // Any worker that is alive answers for the fleet.
  const Worker& AnyAlive() const {
    for (const auto& worker : workers_) {
      if (worker->alive()) return *worker;
    }
    return *workers_.front();
  }

  void PutTenant(const std::string& tenant) {
    const Reply reply = AnyAlive().Call(
        "PUT", "/api/tenants/" + tenant,
        json{{"platform", "freshdesk"}, {"base_url", emulator_->base_url()}, {"api_key", kApiKey}}.dump());
    EXPECT_EQ(reply.status, 201) << reply.text;
  }
  json Status(const std::string& tenant) const {
    return AnyAlive().Call("GET", "/api/ingest/status?tenant_id=" + tenant).body;
  }
  json WaitForState(const std::string& tenant, const std::set<std::string>& states) const {
    json status;
    const auto deadline = std::chrono::steady_clock::now() + 300s;
    while (std::chrono::steady_clock::now() < deadline) {
      status = Status(tenant);
      if (status.is_object() && states.contains(status.value("state", ""))) return status;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "tenant " << tenant << " never reached the state wanted; last status " << status.dump();
    return status;
  }

  std::string Digest(const std::string& tenant, const std::string& url) {
    const CommandResult digest = RunCommand(
        DeskpipeArgs(DESKPIPE_BIN, "digest", tenant, (root_ / "digest").string(), {"--store", url}));
    EXPECT_EQ(digest.exit_code, 0) << digest.out;
    return digest.out;
  }
  // The digest of a clean single-process `deskpipe sync` of `tenant` from the emulator.
  std::string CleanSyncDigest(const std::string& tenant) {
    const CommandResult sync = RunCommand(
        DeskpipeArgs(DESKPIPE_BIN, "sync", tenant, (root_ / "clean").string(),
                     {"--store", clean_url_, "--base-url", emulator_->base_url(), "--api-key", kApiKey}),
        " 2>&1");
    EXPECT_EQ(sync.exit_code, 0) << sync.out;
    return Digest(tenant, clean_url_);
  }

  std::string url_;
  std::string clean_url_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

TEST_F(WorkersTest, ThreeWorkersSixTenantsThreeKillNinesEveryTenantEndsWithTheCleanDigest) {
  ASSERT_FALSE(HasFatalFailure());
  for (const char* id : {"w1", "w2", "w3"}) AddWorker(id);
  ASSERT_FALSE(HasFailure());
  std::vector<std::string> tenants;
  for (int i = 0; i < 6; ++i) tenants.push_back("tenant" + std::to_string(i));
  for (const std::string& tenant : tenants) {
    PutTenant(tenant);
    ASSERT_EQ(AnyAlive().Call("POST", "/api/ingest/start?tenant_id=" + tenant).status, 202);
  }
  const unsigned seed = std::random_device{}();
  std::mt19937 random(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  int kills_mid_job = 0;
  for (int kill_round = 0; kill_round < 3; ++kill_round) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 1500)(random)));
    // A worker holding a running job, chosen at random among those that hold one.
    std::vector<Worker*> holders;
    for (const std::string& tenant : tenants) {
      const json status = Status(tenant);
      if (status.value("state", "") != "running") continue;
      for (auto& worker : workers_) {
        if (status["worker"] == worker->id()) holders.push_back(worker.get());
      }
    }
    if (holders.empty()) break;  // everything ended already
    Worker& victim = *holders[std::uniform_int_distribution<size_t>(0, holders.size() - 1)(random)];
    victim.Kill();
    ++kills_mid_job;
    ASSERT_TRUE(victim.Start()) << ReadFile(victim.log());  // back with the same id, a new process
  }
  EXPECT_GE(kills_mid_job, 1) << "no worker was killed while it held a job";
  for (const std::string& tenant : tenants) {
    const json done = WaitForState(tenant, {"succeeded", "failed", "cancelled"});
    EXPECT_EQ(done["state"], "succeeded") << tenant << ": " << done.dump();
  }
  // A killed worker's job was taken over (not restarted from scratch) by some worker, which logged it.
  std::string logs;
  for (const auto& worker : workers_) logs += ReadFile(worker->log());
  if (kills_mid_job > 0) {
    EXPECT_NE(logs.find("job taken over"), std::string::npos);
  }
  for (const std::string& tenant : tenants) {
    EXPECT_EQ(Digest(tenant, url_), CleanSyncDigest(tenant)) << tenant;
  }
}

TEST_F(WorkersTest, APausedWorkerPastItsLeaseIsTakenOverAndFencedOutWhenItWakes) {
  ASSERT_FALSE(HasFatalFailure());
  emulator_.reset();
  StartEmulator({"--tickets", "1500", "--seed", "11", "--api-key", kApiKey, "--budget", "1000000"});
  Worker& first = AddWorker("first");
  ASSERT_FALSE(HasFailure());
  PutTenant("acme");
  const Reply start = first.Call("POST", "/api/ingest/start?tenant_id=acme");
  ASSERT_EQ(start.status, 202) << start.text;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    const json status = Status("acme");
    if (status.value("processed_items", 0) > 0 && status.value("state", "") == "running") break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(Status("acme")["worker"], "first");
  Worker& second = AddWorker("second");
  ASSERT_FALSE(HasFailure());

  // Paused past its lease, `first` loses the job to `second`. A pause that lands inside a batch commit holds
  // the job row (the fence's FOR SHARE) and no claim can take it: wake it briefly and pause again.
  bool taken_over = false;
  for (int attempt = 0; attempt < 5 && !taken_over; ++attempt) {
    first.Signal(SIGSTOP);
    const auto until = std::chrono::steady_clock::now() + 12s;
    while (std::chrono::steady_clock::now() < until && !taken_over) {
      const json status = second.Call("GET", "/api/ingest/status?tenant_id=acme").body;
      taken_over = status.value("worker", json()) == "second" && status.value("state", "") == "running";
      if (status.value("state", "") == "succeeded") break;
      std::this_thread::sleep_for(100ms);
    }
    if (!taken_over) {
      first.Signal(SIGCONT);
      std::this_thread::sleep_for(300ms);
    }
  }
  ASSERT_TRUE(taken_over) << ReadFile(second.log());
  // Woken, `first` may not commit any more: its renewal or its next commit is refused, and it stops.
  first.Signal(SIGCONT);
  const json done = WaitForState("acme", {"succeeded", "failed", "cancelled"});
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["worker"], "second");
  EXPECT_EQ(done["task_id"], start.body["task_id"]);  // the same job, resumed, not a new one
  const auto lost_deadline = std::chrono::steady_clock::now() + 30s;
  while (ReadFile(first.log()).find("lease lost") == std::string::npos &&
         std::chrono::steady_clock::now() < lost_deadline) {
    std::this_thread::sleep_for(100ms);
  }
  const std::string first_log = ReadFile(first.log());
  EXPECT_NE(first_log.find("lease lost: job " + start.body.value("task_id", "")), std::string::npos)
      << first_log;
  EXPECT_EQ(first_log.find("job ended"), std::string::npos) << "the fenced worker recorded an end";
  EXPECT_NE(ReadFile(second.log()).find("job taken over"), std::string::npos);
  EXPECT_EQ(Digest("acme", url_), CleanSyncDigest("acme"));
}

TEST_F(WorkersTest, ADatabaseRestartMidSyncPausesTheJobsAndTheyResumeToTheCleanDigest) {
  ASSERT_FALSE(HasFatalFailure());
  emulator_.reset();
  StartEmulator({"--tickets", "1200", "--seed", "11", "--api-key", kApiKey, "--budget", "1000000"});
  for (const char* id : {"w1", "w2"}) AddWorker(id);
  ASSERT_FALSE(HasFailure());
  const std::vector<std::string> tenants = {"alpha", "beta", "gamma"};
  for (const std::string& tenant : tenants) {
    PutTenant(tenant);
    ASSERT_EQ(AnyAlive().Call("POST", "/api/ingest/start?tenant_id=" + tenant).status, 202);
  }
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    const json status = Status("alpha");
    if (status.value("processed_items", 0) > 0 && status.value("state", "") == "running") break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(Status("alpha")["state"], "running");
  auto restarted = deskpipe::testing::RestartPostgresServer();
  ASSERT_TRUE(restarted) << restarted.error().ToString();

  for (const std::string& tenant : tenants) {
    const json done = WaitForState(tenant, {"succeeded", "failed", "cancelled"});
    EXPECT_EQ(done["state"], "succeeded") << tenant << ": " << done.dump();
  }
  // The outage reached at least the job that was running: it was resumed (a retry job, or a takeover).
  const json alpha_jobs = AnyAlive().Call("GET", "/api/jobs?tenant_id=alpha&limit=10").body["jobs"];
  std::string logs;
  for (const auto& worker : workers_) logs += ReadFile(worker->log());
  EXPECT_TRUE(alpha_jobs.size() > 1 || logs.find("job taken over") != std::string::npos) << alpha_jobs.dump();
  for (const std::string& tenant : tenants) {
    EXPECT_EQ(Digest(tenant, url_), CleanSyncDigest(tenant)) << tenant;
  }
}

TEST_F(WorkersTest, EightConcurrentStartsOverThreeWorkersMakeExactlyOneActiveJob) {
  ASSERT_FALSE(HasFatalFailure());
  for (const char* id : {"w1", "w2", "w3"}) AddWorker(id);
  ASSERT_FALSE(HasFailure());
  PutTenant("acme");
  std::vector<Reply> replies(8);
  std::vector<std::thread> callers;
  for (size_t i = 0; i < replies.size(); ++i) {
    callers.emplace_back([&, i] {
      replies[i] = workers_[i % workers_.size()]->Call("POST", "/api/ingest/start?tenant_id=acme");
    });
  }
  for (std::thread& caller : callers) caller.join();
  int created = 0;
  std::set<std::string> task_ids;
  for (const Reply& reply : replies) {
    ASSERT_TRUE(reply.status == 202 || reply.status == 200) << reply.text;
    created += reply.status == 202;
    task_ids.insert(reply.body.value("task_id", ""));
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(task_ids.size(), 1u);
  const json done = WaitForState("acme", {"succeeded", "failed"});
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  const json jobs = AnyAlive().Call("GET", "/api/jobs?tenant_id=acme&limit=10").body["jobs"];
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  // Exactly one worker ran it.
  int started = 0;
  for (const auto& worker : workers_) {
    const std::string log = ReadFile(worker->log());
    for (size_t at = log.find("job started"); at != std::string::npos; at = log.find("job started", at + 1))
      ++started;
  }
  EXPECT_EQ(started, 1);
}

TEST_F(WorkersTest, EveryWorkerListsTheFleetAndADrainedFleetClaimsNothing) {
  ASSERT_FALSE(HasFatalFailure());
  for (const char* id : {"w1", "w2", "w3"}) AddWorker(id);
  ASSERT_FALSE(HasFailure());
  const Reply list = workers_[2]->Call("GET", "/api/workers");
  ASSERT_EQ(list.status, 200) << list.text;
  EXPECT_EQ(list.body["this_worker"], "w3");
  std::set<std::string> ids;
  for (const json& worker : list.body["workers"]) {
    ids.insert(worker["worker_id"].get<std::string>());
    EXPECT_TRUE(worker["alive"].get<bool>()) << worker.dump();
    EXPECT_FALSE(worker["draining"].get<bool>()) << worker.dump();
    EXPECT_EQ(worker["jobs"], 2);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"w1", "w2", "w3"}));
  EXPECT_EQ(workers_[0]->Call("POST", "/api/workers/nobody/drain").status, 404);

  // Each drain is asked through w1; the others learn it from the catalog.
  for (const char* id : {"w1", "w2", "w3"}) {
    const Reply drain = workers_[0]->Call("POST", std::string("/api/workers/") + id + "/drain");
    EXPECT_EQ(drain.status, 202) << drain.text;
  }
  for (const auto& worker : workers_) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (ReadFile(worker->log()).find("worker draining") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_NE(ReadFile(worker->log()).find("worker draining"), std::string::npos) << worker->id();
  }
  PutTenant("acme");
  ASSERT_EQ(workers_[1]->Call("POST", "/api/ingest/start?tenant_id=acme").status, 202);
  // Several poll rounds of every worker go by; nobody claims it.
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(Status("acme")["state"], "queued");
  for (const json& worker : workers_[1]->Call("GET", "/api/workers").body["workers"]) {
    EXPECT_TRUE(worker["draining"].get<bool>()) << worker.dump();
  }
  // A worker started afterwards (not draining) takes it.
  AddWorker("w4");
  EXPECT_EQ(WaitForState("acme", {"succeeded", "failed"})["worker"], "w4");
}

}  // namespace
}  // namespace deskpipe::e2e
