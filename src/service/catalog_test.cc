// One suite, both backends: SQLite (a temp directory) and PostgreSQL (a real server started by the harness).
// Each ctest entry runs one backend (see CMakeLists.txt).
#include "service/catalog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <latch>
#include <set>
#include <thread>

#include "service/secrets.h"
#include "store/testing/pg_test_servers.h"

namespace deskpipe::service {
namespace {

namespace fs = std::filesystem;

enum class Backend { kSqlite, kPostgres };

std::string BackendLabel(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

class CatalogTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("deskpipe_service_catalog_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (GetParam() == Backend::kSqlite) {
      url_ = "sqlite://" + (dir_ / "data" / "deskpipe.db").string();
    } else {
      auto url = deskpipe::testing::PostgresServerUrl();
      ASSERT_TRUE(url.has_value()) << url.error().ToString();
      url_ = *url;
      auto reset = deskpipe::testing::ResetSchema(url_);
      ASSERT_TRUE(reset.has_value()) << reset.error().ToString();
    }
    catalog_ = Open();
    ASSERT_NE(catalog_, nullptr);
  }
  void TearDown() override {
    catalog_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Catalog> Open() {
    auto catalog = Catalog::Open(url_);
    EXPECT_TRUE(catalog.has_value()) << catalog.error().ToString();
    return catalog ? std::move(*catalog) : nullptr;
  }

  static TenantRecord Tenant(const std::string& id) {
    TenantRecord t;
    t.tenant_id = id;
    t.platform = "freshdesk";
    t.settings = {{"freshdesk_domain", id + "-co"}, {"freshdesk_streams", "tickets,contacts"}};
    t.sealed_secrets = {{"freshdesk_api_key", "c2VhbGVk"}};
    t.mode = "vector-only";
    t.embedder = "openai:text-embedding-3-small";
    t.api_budget_share = 0.35;
    t.schedule_seconds = 3600;
    t.token_hash = "blake2b:" + std::string(64, 'a');
    t.created_at = 1700000000;
    t.updated_at = 1700000100;
    return t;
  }

  static JobRecord Job(const std::string& task_id, const std::string& tenant, int64_t queued_at,
                       JobState state = JobState::kQueued) {
    JobRecord j;
    j.task_id = task_id;
    j.tenant_id = tenant;
    j.platform = "freshdesk";
    j.trigger = "api";
    j.state = state;
    j.queued_at = queued_at;
    return j;
  }

  static void ExpectTenantsEqual(const TenantRecord& a, const TenantRecord& b) {
    EXPECT_EQ(a.tenant_id, b.tenant_id);
    EXPECT_EQ(a.platform, b.platform);
    EXPECT_EQ(a.settings, b.settings);
    EXPECT_EQ(a.sealed_secrets, b.sealed_secrets);
    EXPECT_EQ(a.mode, b.mode);
    EXPECT_EQ(a.embedder, b.embedder);
    EXPECT_EQ(a.api_budget_share, b.api_budget_share);
    EXPECT_EQ(a.schedule_seconds, b.schedule_seconds);
    EXPECT_EQ(a.token_hash, b.token_hash);
    EXPECT_EQ(a.created_at, b.created_at);
    EXPECT_EQ(a.updated_at, b.updated_at);
  }

  static void ExpectJobsEqual(const JobRecord& a, const JobRecord& b) {
    EXPECT_EQ(a.task_id, b.task_id);
    EXPECT_EQ(a.tenant_id, b.tenant_id);
    EXPECT_EQ(a.platform, b.platform);
    EXPECT_EQ(a.trigger, b.trigger);
    EXPECT_EQ(a.state, b.state);
    EXPECT_EQ(a.queued_at, b.queued_at);
    EXPECT_EQ(a.started_at, b.started_at);
    EXPECT_EQ(a.ended_at, b.ended_at);
    EXPECT_EQ(a.heartbeat_at, b.heartbeat_at);
    EXPECT_EQ(a.progress, b.progress);
    EXPECT_EQ(a.summary, b.summary);
    EXPECT_EQ(a.last_error, b.last_error);
    EXPECT_EQ(a.owner, b.owner);
    EXPECT_EQ(a.fencing_token, b.fencing_token);
    EXPECT_EQ(a.lease_until, b.lease_until);
  }

  static std::vector<std::string> TaskIds(const std::vector<JobRecord>& jobs) {
    std::vector<std::string> ids;
    for (const JobRecord& job : jobs) ids.push_back(job.task_id);
    return ids;
  }

  fs::path dir_;
  std::string url_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_P(CatalogTest, TenantsPutGetListReplaceDelete) {
  EXPECT_FALSE(catalog_->GetTenant("acme")->has_value());
  ASSERT_TRUE(catalog_->PutTenant(Tenant("zeta")).has_value());
  ASSERT_TRUE(catalog_->PutTenant(Tenant("acme")).has_value());
  ASSERT_TRUE(catalog_->PutTenant(Tenant("Beta")).has_value());

  auto acme = catalog_->GetTenant("acme");
  ASSERT_TRUE(acme.has_value()) << acme.error().ToString();
  ASSERT_TRUE(acme->has_value());
  ExpectTenantsEqual(**acme, Tenant("acme"));

  auto listed = catalog_->ListTenants();
  ASSERT_TRUE(listed.has_value()) << listed.error().ToString();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].tenant_id, "Beta");  // by bytes: uppercase first
  EXPECT_EQ((*listed)[1].tenant_id, "acme");
  EXPECT_EQ((*listed)[2].tenant_id, "zeta");

  TenantRecord replaced = Tenant("acme");
  replaced.settings = {{"freshdesk_domain", "acme-new"}};
  replaced.sealed_secrets.clear();
  replaced.mode = "hybrid";
  replaced.embedder.clear();
  replaced.api_budget_share = 0.1 + 0.2;  // not exactly 0.3: the double must round-trip bit for bit
  replaced.schedule_seconds = 0;
  replaced.token_hash = "blake2b:" + std::string(64, 'b');
  replaced.updated_at = 1800000000;
  ASSERT_TRUE(catalog_->PutTenant(replaced).has_value());
  auto again = catalog_->GetTenant("acme");
  ASSERT_TRUE(again.has_value() && again->has_value());
  ExpectTenantsEqual(**again, replaced);
  EXPECT_EQ(catalog_->ListTenants()->size(), 3u);

  // Deleting a tenant deletes its jobs, not another tenant's.
  ASSERT_TRUE(catalog_->InsertJobIfNoneActive(Job("t-acme-1", "acme", 10)).has_value());
  ASSERT_TRUE(catalog_->InsertJobIfNoneActive(Job("t-zeta-1", "zeta", 11)).has_value());
  auto deleted = catalog_->DeleteTenant("acme");
  ASSERT_TRUE(deleted.has_value()) << deleted.error().ToString();
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(catalog_->GetTenant("acme")->has_value());
  EXPECT_FALSE(catalog_->GetJob("t-acme-1")->has_value());
  EXPECT_TRUE(catalog_->ListJobs("acme", 10)->empty());
  EXPECT_TRUE(catalog_->GetJob("t-zeta-1")->has_value());
  EXPECT_TRUE(catalog_->GetTenant("zeta")->has_value());
  EXPECT_EQ(catalog_->ListTenants()->size(), 2u);

  auto missing = catalog_->DeleteTenant("acme");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(*missing);
}

TEST_P(CatalogTest, TenantsAreSeenByAnotherConnection) {
  ASSERT_TRUE(catalog_->PutTenant(Tenant("acme")).has_value());
  auto other = Open();
  ASSERT_NE(other, nullptr);
  auto acme = other->GetTenant("acme");
  ASSERT_TRUE(acme.has_value() && acme->has_value());
  ExpectTenantsEqual(**acme, Tenant("acme"));
}

TEST_P(CatalogTest, ConcurrentInsertsFromManyConnectionsCreateExactlyOneActiveJob) {
  constexpr int kThreads = 8;
  std::vector<std::unique_ptr<Catalog>> catalogs;
  for (int i = 0; i < kThreads; ++i) {
    catalogs.push_back(Open());
    ASSERT_NE(catalogs.back(), nullptr);
  }
  std::vector<Result<std::pair<JobRecord, bool>>> results(kThreads, Error(Internal("not run")));
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = catalogs[i]->InsertJobIfNoneActive(Job("task-" + std::to_string(i), "acme", 1000 + i));
    });
  }
  for (auto& thread : threads) thread.join();

  int inserted = 0;
  std::set<std::string> returned;
  std::string winner;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(results[i].has_value()) << "thread " << i << ": " << results[i].error().ToString();
    returned.insert(results[i]->first.task_id);
    if (results[i]->second) {
      ++inserted;
      winner = "task-" + std::to_string(i);
      EXPECT_EQ(results[i]->first.task_id, winner);
    }
  }
  EXPECT_EQ(inserted, 1);
  EXPECT_EQ(returned, std::set<std::string>{winner});
  auto active = catalog_->JobsInStates({JobState::kQueued, JobState::kRunning, JobState::kCancelling});
  ASSERT_TRUE(active.has_value()) << active.error().ToString();
  EXPECT_EQ(TaskIds(*active), std::vector<std::string>{winner});
  EXPECT_EQ(catalog_->ListJobs("acme", 100)->size(), 1u);
}

TEST_P(CatalogTest, ConcurrentClaimsFromManyConnectionsTakeEachJobOnceOldestFirst) {
  constexpr int kJobs = 6;
  constexpr int kThreads = 8;
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(
        catalog_->InsertJobIfNoneActive(Job("job-" + std::to_string(i), "t" + std::to_string(i), 100 + i))
            .has_value());
  }
  std::vector<std::unique_ptr<Catalog>> catalogs;
  for (int i = 0; i < kThreads; ++i) {
    catalogs.push_back(Open());
    ASSERT_NE(catalogs.back(), nullptr);
  }
  std::vector<std::optional<JobClaim>> claims(kThreads);
  std::vector<std::string> errors(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto claim = catalogs[i]->ClaimJob("w" + std::to_string(i), 5000, 8000);
      if (claim)
        claims[i] = *claim;
      else
        errors[i] = claim.error().ToString();
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> claimed;
  int none = 0;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(errors[i].empty()) << errors[i];
    if (!claims[i]) {
      ++none;
      continue;
    }
    EXPECT_TRUE(claimed.insert(claims[i]->job.task_id).second) << claims[i]->job.task_id << " claimed twice";
    EXPECT_EQ(claims[i]->job.state, JobState::kRunning);
    EXPECT_EQ(claims[i]->job.owner, "w" + std::to_string(i));
    EXPECT_EQ(claims[i]->job.fencing_token, 1);
    EXPECT_EQ(claims[i]->job.lease_until, 8000);
    EXPECT_EQ(claims[i]->previous_state, JobState::kQueued);
  }
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(none, kThreads - kJobs);

  // One at a time, the one that waited longest goes first.
  ASSERT_TRUE(catalog_->InsertJobIfNoneActive(Job("late", "u1", 900)).has_value());
  ASSERT_TRUE(catalog_->InsertJobIfNoneActive(Job("early", "u2", 200)).has_value());
  auto first = catalog_->ClaimJob("w", 5000, 8000);
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_EQ((*first)->job.task_id, "early");
}

TEST_P(CatalogTest, AnEndedLeaseIsTakenOverWithAGreaterTokenAndTheOldHolderIsFencedOut) {
  ASSERT_TRUE(catalog_->InsertJobIfNoneActive(Job("job", "acme", 100)).has_value());
  auto mine = catalog_->ClaimJob("old-worker", 1000, 4000);
  ASSERT_TRUE(mine.has_value() && mine->has_value());
  JobRecord held = (*mine)->job;

  // Before the lease ends nobody else can claim it; the holder renews it.
  auto early = catalog_->ClaimJob("new-worker", 3999, 7000);
  ASSERT_TRUE(early.has_value());
  EXPECT_FALSE(early->has_value());
  held.heartbeat_at = 3000;
  held.lease_until = 6000;
  auto renewed = catalog_->RenewLease(held);
  ASSERT_TRUE(renewed.has_value()) << renewed.error().ToString();
  EXPECT_EQ(*renewed, JobState::kRunning);
  EXPECT_FALSE(catalog_->ClaimJob("new-worker", 5000, 8000)->has_value());

  auto taken = catalog_->ClaimJob("new-worker", 6001, 9000);
  ASSERT_TRUE(taken.has_value() && taken->has_value());
  EXPECT_EQ((*taken)->job.task_id, "job");
  EXPECT_EQ((*taken)->job.fencing_token, held.fencing_token + 1);
  EXPECT_EQ((*taken)->previous_state, JobState::kRunning);
  EXPECT_EQ((*taken)->previous_owner, "old-worker");
  EXPECT_EQ((*taken)->job.started_at, 1000);  // the job's, not the takeover's

  // The old holder's renewal and writes are refused, naming the new holder.
  auto refused = catalog_->RenewLease(held);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kBusy);
  EXPECT_NE(refused.error().message().find("new-worker"), std::string::npos) << refused.error().message();
  held.state = JobState::kSucceeded;
  auto write = catalog_->UpdateJob(held);
  ASSERT_FALSE(write.has_value());
  EXPECT_EQ(write.error().code(), StatusCode::kBusy);
  EXPECT_EQ(catalog_->GetJob("job")->value().state, JobState::kRunning);

  // The new holder's renewal sees a cancel made through another connection under its token.
  JobRecord current = catalog_->GetJob("job")->value();
  current.state = JobState::kCancelling;
  ASSERT_TRUE(Open()->UpdateJob(current).has_value());
  JobRecord theirs = (*taken)->job;
  theirs.lease_until = 12000;
  auto seen = catalog_->RenewLease(theirs);
  ASSERT_TRUE(seen.has_value()) << seen.error().ToString();
  EXPECT_EQ(*seen, JobState::kCancelling);
}

TEST_P(CatalogTest, AFinishedJobLetsANewOneIn) {
  auto first = catalog_->InsertJobIfNoneActive(Job("first", "acme", 100));
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_TRUE(first->second);

  // Running and cancelling are active too.
  for (JobState state : {JobState::kQueued, JobState::kRunning, JobState::kCancelling}) {
    JobRecord job = first->first;
    job.state = state;
    ASSERT_TRUE(catalog_->UpdateJob(job).has_value());
    auto blocked = catalog_->InsertJobIfNoneActive(Job("second", "acme", 200));
    ASSERT_TRUE(blocked.has_value()) << blocked.error().ToString();
    EXPECT_FALSE(blocked->second) << JobStateName(state);
    EXPECT_EQ(blocked->first.task_id, "first");
    EXPECT_EQ(blocked->first.state, state);
  }
  // Only an active job can be inserted.
  auto ended = catalog_->InsertJobIfNoneActive(Job("ended", "new-tenant", 150, JobState::kSucceeded));
  ASSERT_FALSE(ended.has_value());
  EXPECT_EQ(ended.error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(catalog_->GetJob("ended")->has_value());

  // Another tenant is not blocked.
  auto other = catalog_->InsertJobIfNoneActive(Job("other", "zeta", 150));
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(other->second);

  JobRecord done = first->first;
  done.state = JobState::kSucceeded;
  ASSERT_TRUE(catalog_->UpdateJob(done).has_value());
  auto second = catalog_->InsertJobIfNoneActive(Job("second", "acme", 200));
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  EXPECT_TRUE(second->second);
  EXPECT_EQ(second->first.task_id, "second");

  // Making the finished one active again while "second" is active is refused.
  JobRecord revived = done;
  revived.state = JobState::kQueued;
  auto refused = catalog_->UpdateJob(revived);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument) << refused.error().ToString();
}

TEST_P(CatalogTest, UpdateJobRoundTripsEveryField) {
  ASSERT_TRUE(catalog_->InsertJobIfNoneActive(Job("t1", "acme", 1000)).has_value());
  auto stored = catalog_->GetJob("t1");
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  ExpectJobsEqual(**stored, Job("t1", "acme", 1000));
  EXPECT_TRUE((*stored)->progress.is_null());

  JobRecord job;
  job.task_id = "t1";
  job.tenant_id = "acme";
  job.platform = "zendesk";
  job.trigger = "schedule";
  job.state = JobState::kInterrupted;
  job.queued_at = 1700000000123;
  job.started_at = 1700000001456;
  job.ended_at = 1700000009789;
  job.heartbeat_at = 1700000009000;
  job.progress = {{"phase", "embed"},
                  {"records", 1234},
                  {"ratio", 0.25},
                  {"streams", {"tickets", "contacts"}},
                  {"note", "caf\u00e9 \"quoted\""}};
  job.summary = {
      {"ok", false}, {"dead_letters", nlohmann::json::array()}, {"nested", {{"a", {{"b", nullptr}}}}}};
  job.last_error = "Unavailable: the helpdesk answered 503\nsecond line";
  job.owner = "host-1:4242:1700000000";
  job.lease_until = 1700000039000;
  auto updated = catalog_->UpdateJob(job);
  ASSERT_TRUE(updated.has_value()) << updated.error().ToString();

  auto back = catalog_->GetJob("t1");
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  ASSERT_TRUE(back->has_value());
  ExpectJobsEqual(**back, job);

  // Every state name survives the round trip.
  for (JobState state : {JobState::kQueued, JobState::kRunning, JobState::kCancelling, JobState::kSucceeded,
                         JobState::kFailed, JobState::kCancelled, JobState::kInterrupted}) {
    job.state = state;
    ASSERT_TRUE(catalog_->UpdateJob(job).has_value());
    EXPECT_EQ((*catalog_->GetJob("t1"))->state, state);
  }

  JobRecord unknown = job;
  unknown.task_id = "no-such-task";
  auto missing = catalog_->UpdateJob(unknown);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(catalog_->GetJob("no-such-task")->has_value());
}

TEST_P(CatalogTest, ListJobsIsNewestFirstWithALimit) {
  // Queued out of order; each finished before the next so the tenant can have another.
  for (int64_t at : {300, 100, 500, 200, 400}) {
    JobRecord job = Job("t" + std::to_string(at), "acme", at);
    ASSERT_TRUE(catalog_->InsertJobIfNoneActive(job).has_value());
    job.state = JobState::kSucceeded;
    ASSERT_TRUE(catalog_->UpdateJob(job).has_value());
  }
  ASSERT_TRUE(catalog_->InsertJobIfNoneActive(Job("other", "zeta", 1000)).has_value());

  auto three = catalog_->ListJobs("acme", 3);
  ASSERT_TRUE(three.has_value()) << three.error().ToString();
  EXPECT_EQ(TaskIds(*three), (std::vector<std::string>{"t500", "t400", "t300"}));
  auto all = catalog_->ListJobs("acme", 50);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(TaskIds(*all), (std::vector<std::string>{"t500", "t400", "t300", "t200", "t100"}));
  EXPECT_TRUE(catalog_->ListJobs("nobody", 10)->empty());
}

TEST_P(CatalogTest, JobsInStatesIsOldestFirstAcrossTenants) {
  struct Row {
    const char* task;
    const char* tenant;
    int64_t at;
    JobState state;
  };
  const Row rows[] = {
      {"a-old", "a", 10, JobState::kSucceeded}, {"b-queue", "b", 100, JobState::kQueued},
      {"c-fail", "c", 50, JobState::kFailed},   {"d-cancel", "d", 300, JobState::kCancelling},
      {"a-run", "a", 500, JobState::kRunning},  {"e-queue", "e", 200, JobState::kQueued},
  };
  for (const Row& row : rows) {
    JobRecord job = Job(row.task, row.tenant, row.at);
    auto inserted = catalog_->InsertJobIfNoneActive(job);
    ASSERT_TRUE(inserted.has_value() && inserted->second) << row.task;
    job.state = row.state;
    auto updated = catalog_->UpdateJob(job);
    ASSERT_TRUE(updated.has_value()) << row.task << ": " << updated.error().ToString();
  }
  auto active = catalog_->JobsInStates({JobState::kQueued, JobState::kRunning, JobState::kCancelling});
  ASSERT_TRUE(active.has_value()) << active.error().ToString();
  EXPECT_EQ(TaskIds(*active), (std::vector<std::string>{"b-queue", "e-queue", "d-cancel", "a-run"}));
  auto queued = catalog_->JobsInStates({JobState::kQueued});
  ASSERT_TRUE(queued.has_value());
  EXPECT_EQ(TaskIds(*queued), (std::vector<std::string>{"b-queue", "e-queue"}));
  auto ended = catalog_->JobsInStates({JobState::kFailed, JobState::kSucceeded});
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(TaskIds(*ended), (std::vector<std::string>{"a-old", "c-fail"}));
  EXPECT_TRUE(catalog_->JobsInStates({JobState::kInterrupted})->empty());
  EXPECT_TRUE(catalog_->JobsInStates({})->empty());
}

TEST_P(CatalogTest, TheSqliteFileHoldsNoPlaintextApiKey) {
  if (GetParam() != Backend::kSqlite) GTEST_SKIP() << "a file check, SQLite only";
  auto box = SecretBox::FromHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  ASSERT_TRUE(box.has_value());
  const std::string api_key = "PLAINTEXT-freshdesk-key-8f3a2c91";
  TenantRecord tenant = Tenant("acme");
  tenant.sealed_secrets = {{"freshdesk_api_key", box->Seal(api_key)}};
  ASSERT_TRUE(catalog_->PutTenant(tenant).has_value());
  auto back = catalog_->GetTenant("acme");
  ASSERT_TRUE(back.has_value() && back->has_value());
  EXPECT_EQ(*box->Open((*back)->sealed_secrets.at("freshdesk_api_key")), api_key);
  catalog_.reset();  // closing checkpoints the WAL into the file

  std::string bytes;
  for (const char* name : {"service.db", "service.db-wal"}) {
    std::ifstream in(dir_ / "data" / name, std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // The file read is the catalog's: the sealed text is in it.
  EXPECT_NE(bytes.find(tenant.sealed_secrets.at("freshdesk_api_key")), std::string::npos);
  EXPECT_EQ(bytes.find(api_key), std::string::npos);
  EXPECT_EQ(bytes.find("PLAINTEXT"), std::string::npos);
  // And the store's own file was not used for it.
  EXPECT_FALSE(fs::exists(dir_ / "data" / "deskpipe.db"));
}

TEST_P(CatalogTest, OpenRefusesAnUnknownSchemeWithoutEchoingTheUrl) {
  auto catalog = Catalog::Open("mysql://user:s3cret@host/db");
  ASSERT_FALSE(catalog.has_value());
  EXPECT_EQ(catalog.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog.error().message().find("s3cret"), std::string::npos);
  EXPECT_FALSE(Catalog::Open("sqlite://").has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendLabel);

}  // namespace
}  // namespace deskpipe::service
