#include "pipeline/runner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "embed/hashing_embedder.h"
#include "pipeline/retry_failed.h"

namespace deskpipe {
namespace {

namespace fs = std::filesystem;

constexpr int kDim = 64;
constexpr char kTenant[] = "acme";

// A scripted source: "agents" (one batch) then "tickets" (`pages` batches of `per_page` tickets, each with two
// conversations). The cursor is {"page": n}. Hooks let a test fail or stop at a chosen page.
class FakeSource : public Source {
 public:
  int pages = 20;
  int per_page = 5;
  bool agents_forbidden = false;
  int fail_at_page = 0;                   // Next for this tickets page fails with Internal
  int heavy_from_page = 0;                // from this tickets page on, pages are heavy:
  int heavy_per_page = 0;                 //   this many tickets (each its own thread), or
  int heavy_thread_conversations = 0;     //   one ticket with this many conversations (one thread)
  std::function<void(int page)> on_page;  // called before a tickets page is returned
  std::atomic<int> calls{0};
  bool count_tickets = false;  // CountRemaining answers for tickets: the tickets on the pages left
  bool count_fails = false;    // … or fails
  std::vector<nlohmann::json> counted_from;  // the cursors it was asked to count from

  Result<std::optional<int64_t>> CountRemaining(const std::string& stream, const nlohmann::json& cursor) override {
    if (stream != "tickets" || !count_tickets) return std::optional<int64_t>();
    counted_from.push_back(cursor);
    if (count_fails) return Error(Unavailable("search is down"));
    const int read = cursor.is_null() ? 0 : cursor.at("page").get<int>();
    return std::optional<int64_t>(static_cast<int64_t>(std::max(0, pages - read)) * per_page);
  }

  std::string platform() const override { return "freshdesk"; }
  std::vector<std::string> Streams() const override { return {"agents", "tickets"}; }

  Result<Batch> Next(const std::string& stream, const nlohmann::json& cursor) override {
    ++calls;
    Batch batch;
    batch.stream = stream;
    if (stream == "agents") {
      if (agents_forbidden) return Error(PermissionDenied("agents need an admin key"));
      batch.records.push_back(MakeRecord("agent", "agent-1", "Ada", ""));
      batch.rejected.push_back({"agent 99", InvalidRecord("agent 99 has no name")});
      batch.done = true;
      return batch;
    }
    const int page = (cursor.is_null() ? 0 : cursor.at("page").get<int>()) + 1;
    if (page == fail_at_page) return Error(Internal("scripted failure at page " + std::to_string(page)));
    if (page > pages) {  // caught up: nothing new
      batch.cursor = cursor;
      batch.done = true;
      return batch;
    }
    if (on_page) on_page(page);
    const int stride = std::max(per_page, heavy_per_page);
    if (Heavy(page) && heavy_thread_conversations > 0) {
      for (Record& record : Ticket((page - 1) * stride + 1, heavy_thread_conversations)) {
        batch.records.push_back(std::move(record));
      }
    }
    for (int i = 0; i < TicketsOn(page); ++i) {
      const int number = (page - 1) * stride + i + 1;
      if (reject_tickets.count(number)) {
        batch.rejected.push_back({"ticket " + std::to_string(number), InvalidRecord("ticket has no requester")});
        continue;
      }
      for (Record& record : Ticket(number)) batch.records.push_back(std::move(record));
    }
    batch.cursor = {{"page", page}};
    batch.done = page >= pages;
    return batch;
  }

  bool Heavy(int page) const { return heavy_from_page > 0 && page >= heavy_from_page; }
  // Tickets with two conversations on `page` (not counting a heavy page's single thread).
  int TicketsOn(int page) const {
    if (!Heavy(page)) return per_page;
    return heavy_thread_conversations > 0 ? 0 : heavy_per_page;
  }
  int RecordsOn(int page) const {
    return 3 * TicketsOn(page) + (Heavy(page) && heavy_thread_conversations > 0 ? 1 + heavy_thread_conversations : 0);
  }

  // Ticket `number` and its conversations.
  static std::vector<Record> Ticket(int number, int conversations = 2) {
    std::vector<Record> records;
    Record ticket = MakeRecord("ticket", std::to_string(number), "Ticket " + std::to_string(number),
                               "<p>Printer " + std::to_string(number) + " is on fire</p>");
    ticket.content_is_html = true;
    ticket.updated_at = "2026-01-01T00:00:" + std::string(number % 60 < 10 ? "0" : "") +
                        std::to_string(number % 60) + "Z";
    records.push_back(ticket);
    for (int c = 0; c < conversations; ++c) {
      Record reply = MakeRecord("conversation", "conversation-" + std::to_string(number * 1000 + c), "",
                                "Reply " + std::to_string(c) + " about printer " + std::to_string(number));
      reply.parent_id = ticket.id;
      reply.metadata["role"] = c == 0 ? "agent" : "customer";
      records.push_back(reply);
    }
    return records;
  }

  // "ticket N" ids: fixed_tickets come back whole, gone_tickets are NotFound, anything else is still down.
  Result<Batch> Refetch(const std::string& stream, const std::string& record_id) override {
    refetched.push_back(stream + "/" + record_id);
    const int number = std::stoi(record_id.substr(record_id.find(' ') + 1));
    if (gone_tickets.count(number)) return Error(NotFound("ticket " + std::to_string(number) + " was deleted"));
    if (!fixed_tickets.count(number)) return Error(Unavailable("503 from the helpdesk"));
    Batch batch;
    batch.stream = stream;
    batch.records = Ticket(number);
    batch.done = true;
    return batch;
  }

  std::set<int> reject_tickets;
  std::set<int> fixed_tickets;
  std::set<int> gone_tickets;
  std::vector<std::string> refetched;

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
    r.updated_at = "2026-01-01T00:00:00Z";
    return r;
  }
};

// Fails any batch holding a text with "poison" in it.
class PickyEmbedder : public HashingEmbedder {
 public:
  PickyEmbedder() : HashingEmbedder(kDim) {}
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    for (const std::string& text : texts) {
      if (text.find("poison") != std::string::npos) return Error(Internal("the model choked on poison"));
    }
    return HashingEmbedder::Embed(texts);
  }
};

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("deskpipe_runner_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    config_.tenant_id = kTenant;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Store> OpenIn(const std::string& name) {
    StoreOptions options;
    options.url = "sqlite://" + (root_ / name / "deskpipe.db").string();
    options.data_dir = (root_ / name).string();
    options.dimension = kDim;
    fs::create_directories(root_ / name);
    auto store = OpenStore(options);
    EXPECT_TRUE(store.has_value()) << store.error().ToString();
    return store ? std::move(*store) : nullptr;
  }

  RunnerOptions Options() {
    RunnerOptions options;
    options.cpu_workers = 3;
    options.queue_capacity = 2;
    options.embedder_thread_safe = true;
    return options;
  }

  std::string CleanDigest() {
    auto store = OpenIn("clean");
    FakeSource source;
    Runner runner(config_, source, embedder_, *store, Options());
    auto summary = runner.Run();
    EXPECT_TRUE(summary.has_value()) << summary.error().ToString();
    return store->ComputeDigest(kTenant)->hex;
  }

  fs::path root_;
  Config config_;
  HashingEmbedder embedder_{kDim};
};

TEST_F(RunnerTest, ConcurrentStagesCommitEveryBatchInCursorOrder) {
  auto store = OpenIn("a");
  FakeSource source;
  std::vector<int> committed_pages;
  RunnerOptions options = Options();
  options.on_batch = [&](const std::string& stream, const StreamSummary&) {
    if (stream != "tickets") return;
    auto cursor = store->LoadCursor(kTenant, "tickets");  // on_batch holds the store lock
    committed_pages.push_back(cursor->at("page").get<int>());
  };
  Runner runner(config_, source, embedder_, *store, options);
  auto summary = runner.Run();
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();

  std::vector<int> expected;
  for (int page = 1; page <= 20; ++page) expected.push_back(page);
  EXPECT_EQ(committed_pages, expected) << "each batch commits after the one before it, with its own cursor";
  EXPECT_EQ(summary->streams["tickets"].batches, 20);
  EXPECT_EQ(summary->streams["tickets"].records, 20 * 5 * 3);
  EXPECT_EQ(summary->documents_written, 100);
  EXPECT_EQ(summary->dead_letters, 1);  // the rejected agent
  EXPECT_FALSE(summary->stopped);
  auto stats = store->Stats(kTenant);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->documents_by_type["ticket"], 100);
  EXPECT_EQ(stats->chunks, stats->vectors);

  const nlohmann::json progress = runner.progress().Snapshot();
  EXPECT_EQ(progress["streams"]["tickets"]["state"], "done");
  EXPECT_EQ(progress["streams"]["tickets"]["stages"]["fetch"]["count"], 300);
  EXPECT_EQ(progress["streams"]["tickets"]["stages"]["store"]["count"], 300);
  EXPECT_EQ(progress["streams"]["tickets"]["stages"]["chunk"]["count"], 100);

  // The same data again: nothing is re-embedded and the digest is the clean one.
  FakeSource again;
  Runner rerun(config_, again, embedder_, *store, Options());
  auto second = rerun.Run();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(store->ComputeDigest(kTenant)->hex, CleanDigest());
}

TEST_F(RunnerTest, TheFinalProgressCountsEveryItemAgainstTheTotal) {
  auto store = OpenIn("count");
  FakeSource source;
  source.count_tickets = true;
  source.reject_tickets = {7};
  Runner runner(config_, source, embedder_, *store, Options());
  auto summary = runner.Run();
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  nlohmann::json progress = runner.progress().Snapshot();
  const nlohmann::json& tickets = progress["streams"]["tickets"];
  EXPECT_EQ(tickets["counted"], 100);  // 20 pages of 5
  EXPECT_EQ(tickets["processed"], 99) << "a ticket with its conversations is one item";
  EXPECT_EQ(tickets["failed"], 1);
  EXPECT_EQ(tickets["total"], 99) << "done: the total is what was stored";
  EXPECT_EQ(progress["streams"]["agents"]["total"], 1) << "no count, but done";
  EXPECT_EQ(progress["total_items"], 100);
  EXPECT_EQ(progress["processed_items"], 100);
  EXPECT_EQ(progress["failed_items"], 2);  // agent 99 and ticket 7
  EXPECT_DOUBLE_EQ(progress["completion_fraction"].get<double>(), 1.0);
  EXPECT_EQ(progress["current_stage"], "done");
  EXPECT_EQ(progress["eta_seconds"], 0);

  // A second run counts from the saved cursor: nothing left. A failed count only loses the total.
  FakeSource again;
  again.count_tickets = true;
  again.count_fails = true;
  Runner second(config_, again, embedder_, *store, Options());
  ASSERT_TRUE(second.Run().has_value());
  ASSERT_EQ(again.counted_from.size(), 1u);
  EXPECT_EQ(again.counted_from[0], (nlohmann::json{{"page", 20}}));
  progress = second.progress().Snapshot();
  EXPECT_TRUE(progress["streams"]["tickets"]["counted"].is_null());
  EXPECT_EQ(progress["streams"]["tickets"]["total"], 0);
  EXPECT_EQ(progress["total_items"], progress["processed_items"]);
}

TEST_F(RunnerTest, TheFetchWaitsForASlowStoreInsteadOfPilingBatchesUpInMemory) {
  auto store = OpenIn("slow");
  FakeSource source;
  source.pages = 40;
  std::atomic<int> commits{0};
  int furthest_ahead = 0;  // fetched-but-uncommitted batches seen by the fetch (the fetch thread only)
  source.on_page = [&](int page) {
    // Tickets page p is batch p (the agents batch is batch 0): batches 0 … p-1 were handed on before it.
    furthest_ahead = std::max(furthest_ahead, page - commits.load());
  };
  RunnerOptions options = Options();
  options.on_batch = [&](const std::string&, const StreamSummary&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a store far slower than the CPU stages
    ++commits;
  };
  Runner runner(config_, source, embedder_, *store, options);
  auto summary = runner.Run();
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  EXPECT_EQ(summary->streams["tickets"].batches, 40);
  // queue_capacity + 2 × cpu_workers in flight, +1 for the batch being committed when the fetch looked.
  const int bound = options.queue_capacity + 2 * options.cpu_workers + 1;
  EXPECT_LE(furthest_ahead, bound) << "processed batches must not accumulate behind a slow store";
}

TEST_F(RunnerTest, HeavyBatchesThatCannotBeSplitTakeFewerSlotsOfTheFetchWindow) {
  auto store = OpenIn("heavy");
  FakeSource source;
  source.pages = 40;
  source.heavy_from_page = 21;
  source.heavy_thread_conversations = 59;  // the last 20 pages: one thread of 60 records, four light pages' worth
  RunnerOptions options = Options();
  const int max_in_flight = options.queue_capacity + 2 * options.cpu_workers;
  const double heavy = source.RecordsOn(source.heavy_from_page);
  std::atomic<int64_t> committed{0};  // tickets records
  int worst_excess = INT_MIN;         // records in flight beyond the bound, at worst (the fetch thread only)
  source.on_page = [&](int page) {
    if (page == 1) return;
    int fetched = 0;
    for (int p = 1; p < page; ++p) fetched += source.RecordsOn(p);
    // max_in_flight batches of the mean weight so far (or one heavy batch per worker), +1 heavy batch for
    // the one being committed.
    const double mean = static_cast<double>(fetched) / (page - 1);
    const double bound = std::max(max_in_flight * mean, options.cpu_workers * heavy) + heavy;
    worst_excess = std::max(worst_excess, static_cast<int>(fetched - committed.load() - bound));
  };
  options.on_batch = [&](const std::string& stream, const StreamSummary& summary) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a store far slower than the CPU stages
    if (stream == "tickets") committed = summary.records;
  };
  Runner runner(config_, source, embedder_, *store, options);
  auto summary = runner.Run();
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  EXPECT_EQ(summary->streams["tickets"].records, 20 * 15 + 20 * 60);
  EXPECT_EQ(summary->streams["tickets"].batches, 40) << "one thread is never split";
  EXPECT_LE(worst_excess, 0) << "heavy batches must not fill the window light ones would";
}

TEST_F(RunnerTest, AHeavyBatchIsCommittedInPartsAndOnlyItsLastPartMovesTheCursor) {
  auto heavy_source = [] {
    auto source = std::make_unique<FakeSource>();
    source->pages = 30;
    source->heavy_from_page = 21;
    source->heavy_per_page = 20;  // four times the tickets, each its own thread
    return source;
  };
  auto store = OpenIn("parts");
  std::vector<int> cursor_pages;  // the stored tickets cursor after each tickets commit
  RunnerOptions options = Options();
  options.on_batch = [&](const std::string& stream, const StreamSummary&) {
    if (stream == "tickets") cursor_pages.push_back(store->LoadCursor(kTenant, "tickets")->at("page").get<int>());
  };
  auto source = heavy_source();
  Runner runner(config_, *source, embedder_, *store, options);
  auto summary = runner.Run();
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  EXPECT_GT(summary->streams["tickets"].batches, 30);
  EXPECT_TRUE(std::is_sorted(cursor_pages.begin(), cursor_pages.end()));
  // Page 21 (four times page 20) came as parts: the ones before its last left the cursor at page 20.
  EXPECT_GE(std::count(cursor_pages.begin(), cursor_pages.end(), 20), 3);
  EXPECT_EQ(std::count(cursor_pages.begin(), cursor_pages.end(), 19), 1) << "light pages are not split";
  EXPECT_EQ(cursor_pages.back(), 30);
  EXPECT_EQ(store->Stats(kTenant)->documents_by_type["ticket"], 20 * 5 + 10 * 20);
  const std::string clean = store->ComputeDigest(kTenant)->hex;

  // Page 21's last ticket is poison: the parts before it commit, the cursor stays at page 20, and the next run
  // reads page 21 again and ends with the same store as the clean run.
  class PoisonSource : public FakeSource {
   public:
    Result<Batch> Next(const std::string& stream, const nlohmann::json& cursor) override {
      auto batch = FakeSource::Next(stream, cursor);
      if (batch && stream == "tickets" && batch->cursor["page"] == 21) batch->records[19 * 3].title = "poison";
      return batch;
    }
  } poison;
  poison.pages = 30;
  poison.heavy_from_page = 21;
  poison.heavy_per_page = 20;
  auto failed_store = OpenIn("failed");
  PickyEmbedder picky;
  Runner failing(config_, poison, picky, *failed_store, Options());
  ASSERT_FALSE(failing.Run().has_value());
  EXPECT_EQ(failed_store->LoadCursor(kTenant, "tickets")->at("page"), 20);
  EXPECT_GT(failed_store->Stats(kTenant)->documents_by_type["ticket"], 20 * 5) << "page 21's first parts committed";
  auto again = heavy_source();
  Runner rerun(config_, *again, picky, *failed_store, Options());
  ASSERT_TRUE(rerun.Run().has_value());
  EXPECT_EQ(failed_store->ComputeDigest(kTenant)->hex, clean);
}

TEST_F(RunnerTest, AFetchFailureKeepsWhatCameBeforeAndTheNextRunFinishesTheJob) {
  const std::string clean = CleanDigest();
  auto store = OpenIn("b");
  FakeSource failing;
  failing.fail_at_page = 8;
  Runner runner(config_, failing, embedder_, *store, Options());
  auto failed = runner.Run();
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code(), StatusCode::kInternal);
  EXPECT_NE(failed.error().message().find("page 8"), std::string::npos) << failed.error().ToString();
  EXPECT_EQ(store->LoadCursor(kTenant, "tickets")->at("page"), 7) << "every batch before the failure committed";
  EXPECT_EQ(store->Stats(kTenant)->documents_by_type["ticket"], 35);

  FakeSource resumed;
  int first_page = 0;
  resumed.on_page = [&](int page) { if (first_page == 0) first_page = page; };
  Runner rerun(config_, resumed, embedder_, *store, Options());
  ASSERT_TRUE(rerun.Run().has_value());
  EXPECT_EQ(first_page, 8) << "resumed from the saved cursor";
  EXPECT_EQ(store->ComputeDigest(kTenant)->hex, clean);
}

TEST_F(RunnerTest, AStageFailureCommitsNothingFromThatBatchOn) {
  auto store = OpenIn("c");
  FakeSource source;
  PickyEmbedder picky;
  // Page 6's first ticket carries poison; pages after it may already be embedded by other workers, but none
  // may commit.
  source.on_page = nullptr;
  class PoisonSource : public FakeSource {
   public:
    Result<Batch> Next(const std::string& stream, const nlohmann::json& cursor) override {
      auto batch = FakeSource::Next(stream, cursor);
      if (batch && stream == "tickets" && batch->cursor["page"] == 6) batch->records[0].title = "poison";
      return batch;
    }
  } poison;
  Runner runner(config_, poison, picky, *store, Options());
  auto failed = runner.Run();
  ASSERT_FALSE(failed.has_value());
  EXPECT_NE(failed.error().message().find("poison"), std::string::npos);
  EXPECT_EQ(store->LoadCursor(kTenant, "tickets")->at("page"), 5);
  EXPECT_EQ(store->Stats(kTenant)->documents_by_type["ticket"], 25);
}

TEST_F(RunnerTest, ARecordThatCannotBeConvertedIsADeadLetterAndTheRestOfItsBatchGoesOn) {
  auto store = OpenIn("t");
  class UnconvertibleSource : public FakeSource {
   public:
    Result<Batch> Next(const std::string& stream, const nlohmann::json& cursor) override {
      auto batch = FakeSource::Next(stream, cursor);
      if (batch && stream == "tickets" && batch->cursor["page"] == 3) {
        Record& conversation = batch->records[1];  // the first ticket's first conversation
        bad_id = conversation.id;
        conversation.content.clear();
        for (int i = 0; i < 5000; ++i) conversation.content += "<b>";  // nests deeper than HTML → text takes
        conversation.content_is_html = true;
        last_id = batch->records.back().id;
      }
      return batch;
    }
    std::string bad_id;
    std::string last_id;
  } source;
  Runner runner(config_, source, embedder_, *store, Options());
  auto summary = runner.Run();
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  ASSERT_FALSE(source.bad_id.empty());
  EXPECT_EQ(summary->dead_letters, 2);  // the rejected agent and the unconvertible conversation
  EXPECT_EQ(summary->streams["tickets"].records, 20 * 5 * 3 - 1);
  auto letters = store->ListDeadLetters(kTenant);
  ASSERT_TRUE(letters.has_value());
  bool found = false;
  for (const StoredDeadLetter& stored : *letters) {
    if (stored.letter.record_id == source.bad_id) {
      found = true;
      EXPECT_EQ(stored.letter.stage, "transform");
    }
  }
  EXPECT_TRUE(found) << "no dead letter for " << source.bad_id;
  // Every other record of that batch, before and after the bad one, is stored.
  auto stats = store->Stats(kTenant);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->records_by_type["conversation"], 20 * 5 * 2 - 1);
  EXPECT_EQ(stats->records_by_type["ticket"], 100);
  EXPECT_EQ(stats->documents_by_type["ticket"], 100);
  auto known = store->LookupKnown(kTenant, {source.bad_id, source.last_id});
  ASSERT_TRUE(known.has_value());
  ASSERT_EQ(known->size(), 1u) << "the bad record is not stored, the batch's last one is";
  EXPECT_EQ((*known)[0].id, source.last_id);
}

TEST_F(RunnerTest, AStopFinishesTheBatchesInHandSavesTheirCursorsAndResumes) {
  const std::string clean = CleanDigest();
  auto store = OpenIn("d");
  std::atomic<bool> stop{false};
  FakeSource source;
  source.on_page = [&](int page) {
    if (page == 6) stop = true;  // as if SIGINT arrived while page 6 was being fetched
  };
  RunnerOptions options = Options();
  options.stop = &stop;
  Runner runner(config_, source, embedder_, *store, options);
  auto summary = runner.Run();
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  EXPECT_TRUE(summary->stopped);
  const int saved = store->LoadCursor(kTenant, "tickets")->at("page").get<int>();
  EXPECT_GE(saved, 1);
  EXPECT_LE(saved, 6);
  EXPECT_LT(source.calls.load(), 1 + 20) << "fetching stopped early";
  EXPECT_EQ(store->Stats(kTenant)->documents_by_type["ticket"], saved * 5) << "the cursor matches the data";
  EXPECT_EQ(store->Stats(kTenant)->last_run["state"], "stopped");

  FakeSource resumed;
  Runner rerun(config_, resumed, embedder_, *store, Options());
  ASSERT_TRUE(rerun.Run().has_value());
  EXPECT_EQ(store->ComputeDigest(kTenant)->hex, clean);
}

TEST_F(RunnerTest, AForbiddenStreamIsSkippedAndTheRestSyncs) {
  auto store = OpenIn("e");
  FakeSource source;
  source.agents_forbidden = true;
  source.pages = 2;
  Runner runner(config_, source, embedder_, *store, Options());
  auto summary = runner.Run();
  ASSERT_TRUE(summary.has_value());
  EXPECT_TRUE(summary->streams["agents"].skipped);
  EXPECT_NE(summary->streams["agents"].skip_reason.find("admin"), std::string::npos);
  EXPECT_EQ(summary->streams["tickets"].batches, 2);
  EXPECT_EQ(runner.progress().Snapshot()["streams"]["agents"]["state"], "skipped");
}

TEST_F(RunnerTest, ProgressIsSavedOnTheRunRecordWhileTheRunGoes) {
  auto store = OpenIn("f");
  auto lock = store->LockTenantForWrite(kTenant, {});  // as App::Sync does: an unlocked "running" is interrupted
  ASSERT_TRUE(lock.has_value()) << lock.error().ToString();
  config_.sql_progress_logs = true;
  FakeSource source;
  source.pages = 3;
  RunnerOptions options = Options();
  options.progress_save_interval = std::chrono::milliseconds(0);
  nlohmann::json seen_mid_run;
  options.on_batch = [&](const std::string& stream, const StreamSummary& s) {
    if (stream == "tickets" && s.batches == 2) seen_mid_run = store->Stats(kTenant)->last_run;
  };
  Runner runner(config_, source, embedder_, *store, options);
  ASSERT_TRUE(runner.Run().has_value());
  ASSERT_TRUE(seen_mid_run.is_object());
  EXPECT_EQ(seen_mid_run["state"], "running");
  // Saved after the first tickets batch (the one before the batch that calls on_batch is saved after it).
  EXPECT_EQ(seen_mid_run["summary"]["streams"]["tickets"]["stages"]["store"]["count"], 15) << seen_mid_run.dump();

  config_.sql_progress_logs = false;
  auto quiet_store = OpenIn("g");
  FakeSource quiet_source;
  quiet_source.pages = 3;
  options.on_batch = [&](const std::string& stream, const StreamSummary& s) {
    if (stream == "tickets" && s.batches == 2) seen_mid_run = quiet_store->Stats(kTenant)->last_run;
  };
  Runner quiet(config_, quiet_source, embedder_, *quiet_store, options);
  ASSERT_TRUE(quiet.Run().has_value());
  EXPECT_FALSE(seen_mid_run["summary"].contains("streams")) << "off by default: " << seen_mid_run.dump();
}

TEST_F(RunnerTest, RetryFailedRunsDeadLettersAgainAndKeepsTheCursor) {
  auto store = OpenIn("r");
  FakeSource source;
  source.reject_tickets = {3, 4, 5};
  Runner runner(config_, source, embedder_, *store, Options());
  auto first = runner.Run();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->dead_letters, 4);  // three tickets and the agent
  auto letters = store->ListDeadLetters(kTenant);
  ASSERT_TRUE(letters.has_value()) << letters.error().ToString();
  ASSERT_EQ(letters->size(), 4u);
  const StoredDeadLetter* ticket3 = nullptr;
  for (const auto& l : *letters) {
    if (l.letter.record_id == "ticket 3") ticket3 = &l;
  }
  ASSERT_NE(ticket3, nullptr);
  EXPECT_EQ(ticket3->letter.stream, "tickets");
  EXPECT_EQ(ticket3->letter.stage, "map");
  EXPECT_EQ(ticket3->letter.error_class, "InvalidRecord");
  EXPECT_EQ(ticket3->letter.message, "ticket has no requester");
  EXPECT_EQ(ticket3->attempts, 1);
  const nlohmann::json cursor_before = *store->LoadCursor(kTenant, "tickets");

  FakeSource later;
  later.fixed_tickets = {3};
  later.gone_tickets = {4};
  auto retried = RetryFailed(config_, later, embedder_, *store, Options(), {"tickets"});
  ASSERT_TRUE(retried.has_value()) << retried.error().ToString();
  EXPECT_EQ(retried->retried, 3);
  EXPECT_EQ(retried->resolved, 1);
  EXPECT_EQ(retried->gone, 1);
  EXPECT_EQ(retried->still_failing, 0);
  EXPECT_EQ(retried->not_reread, 1);
  EXPECT_EQ(later.refetched.size(), 3u);
  EXPECT_EQ(*store->LoadCursor(kTenant, "tickets"), cursor_before) << "a retry never moves a stream's cursor";
  ASSERT_EQ(retried->not_retried.size(), 1u);
  EXPECT_EQ(retried->not_retried[0].record_id, "ticket 5");
  EXPECT_TRUE(retried->not_retried[0].retryable);
  EXPECT_EQ(retried->not_retried[0].reason, "Unavailable: 503 from the helpdesk");

  // Ticket 5 could not be read again: its letter keeps the failure it had (the helpdesk's 503 is no news about it).
  letters = store->ListDeadLetters(kTenant);
  ASSERT_EQ(letters->size(), 2u);  // the agent (not retried: other stream) and ticket 5
  for (const auto& l : *letters) {
    if (l.letter.record_id != "ticket 5") continue;
    EXPECT_EQ(l.attempts, 1);
    EXPECT_EQ(l.letter.stage, "map");
    EXPECT_EQ(l.letter.error_class, "InvalidRecord");
    EXPECT_EQ(l.letter.message, "ticket has no requester");
  }
  EXPECT_EQ(store->Stats(kTenant)->documents_by_type["ticket"], 98) << "ticket 3 arrived, 4 never will, 5 not yet";

  // Once ticket 5 comes back too, the store holds everything but the deleted ticket 4.
  FakeSource healed;
  healed.fixed_tickets = {5};
  ASSERT_TRUE(RetryFailed(config_, healed, embedder_, *store, Options(), {"tickets"}).has_value());
  EXPECT_EQ(store->Stats(kTenant)->documents_by_type["ticket"], 99);
  EXPECT_EQ(store->ListDeadLetters(kTenant, "tickets")->size(), 0u);
}

// A thread whose children the platform re-reads only through their parent, as Freshdesk reads a conversation
// with its ticket: ticket 1 with conversation 1000 (HTML nested too deep to convert while `broken`) and
// conversation 1001 (an attachment that failed to download), and ticket 2. Refetch maps a letter's id to what the
// platform can read, and says when it cannot.
class ThreadSource : public Source {
 public:
  bool broken = true;
  std::vector<std::string> refetched;

  std::string platform() const override { return "freshdesk"; }
  std::vector<std::string> Streams() const override { return {"tickets"}; }

  Result<Batch> Next(const std::string& stream, const nlohmann::json& /*cursor*/) override {
    Batch batch;
    batch.stream = stream;
    batch.records = Thread();
    for (Record& record : FakeSource::Ticket(2, 0)) batch.records.push_back(std::move(record));
    batch.cursor = {{"page", 1}};
    batch.done = true;
    return batch;
  }

  Result<Batch> Refetch(const std::string& stream, const std::string& record_id) override {
    refetched.push_back(record_id);
    if (record_id.rfind("acme_freshdesk_conversation-100", 0) == 0) {  // read with ticket 1's thread
      Batch batch;
      batch.stream = stream;
      batch.records = Thread();
      batch.done = true;
      return batch;
    }
    if (record_id == "acme_freshdesk_2") return Error(Unavailable("503 from the helpdesk"));
    return Error(InvalidRecord("cannot re-read " + record_id + " on its own"));
  }

  std::vector<Record> Thread() const {
    std::vector<Record> records = FakeSource::Ticket(1, 2);
    Record& deep = records[1];
    deep.content_is_html = true;
    deep.content = "<p>The quokkamarker toner arrived</p>";
    if (broken) {
      deep.content.clear();
      for (int i = 0; i < 3000; ++i) deep.content += "<div>";  // deeper than HtmlToText takes
    }
    Attachment attachment;
    attachment.id = "a1";
    attachment.name = "invoice.pdf";
    attachment.download_error = "storage answered 500";
    records[2].attachments.push_back(attachment);
    return records;
  }
};

TEST_F(RunnerTest, RetryFailedRereadsAChildThroughItsParentAndLeavesWhatItCannotReadAsItWas) {
  auto store = OpenIn("thread");
  ThreadSource source;
  Runner runner(config_, source, embedder_, *store, Options());
  ASSERT_TRUE(runner.Run().has_value());
  BatchWrite more;
  more.tenant_id = kTenant;
  more.stream = "tickets";
  more.dead_letters = {{"tickets", "acme_freshdesk_agent-7", "map", "InvalidRecord", "agent 7 has no name"},
                       {"tickets", "acme_freshdesk_2", "transform", "InvalidRecord", "test: failed once"}};
  ASSERT_TRUE(store->Commit(more, "").has_value());
  auto letters = store->ListDeadLetters(kTenant);
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 4u);
  std::map<std::string, StoredDeadLetter> before;
  for (const StoredDeadLetter& l : *letters) before[l.letter.record_id] = l;
  const std::string conversation = "acme_freshdesk_conversation-1000";
  const std::string attachment = "acme_freshdesk_conversation-1001/attachment-a1";
  ASSERT_EQ(before.count(conversation), 1u);
  ASSERT_EQ(before.count(attachment), 1u);
  EXPECT_EQ(before[conversation].letter.stage, "transform");
  EXPECT_EQ(before[attachment].letter.stage, "download");

  // Still broken: the thread is read once for both of its letters; each failed again, with its own stage and
  // reason. What the platform cannot read, or could not this time, is left exactly as it was.
  auto retried = RetryFailed(config_, source, embedder_, *store, Options());
  ASSERT_TRUE(retried.has_value()) << retried.error().ToString();
  EXPECT_EQ(retried->retried, 4);
  EXPECT_EQ(retried->still_failing, 2);
  EXPECT_EQ(retried->resolved, 0);
  EXPECT_EQ(retried->not_retryable, 1);
  EXPECT_EQ(retried->not_reread, 1);
  EXPECT_EQ(source.refetched,
            (std::vector<std::string>{"acme_freshdesk_2", "acme_freshdesk_agent-7", conversation}));
  ASSERT_EQ(retried->not_retried.size(), 2u);
  EXPECT_EQ(retried->not_retried[0].record_id, "acme_freshdesk_2");
  EXPECT_TRUE(retried->not_retried[0].retryable);
  EXPECT_EQ(retried->not_retried[1].record_id, "acme_freshdesk_agent-7");
  EXPECT_FALSE(retried->not_retried[1].retryable);
  EXPECT_EQ(retried->not_retried[1].reason, "cannot re-read acme_freshdesk_agent-7 on its own");
  letters = store->ListDeadLetters(kTenant);
  ASSERT_EQ(letters->size(), 4u);
  for (const StoredDeadLetter& l : *letters) {
    const StoredDeadLetter& was = before[l.letter.record_id];
    const bool reread = l.letter.record_id == conversation || l.letter.record_id == attachment;
    EXPECT_EQ(l.attempts, was.attempts + (reread ? 1 : 0)) << l.letter.record_id;
    EXPECT_EQ(l.letter.stage, was.letter.stage) << l.letter.record_id;
    EXPECT_EQ(l.letter.error_class, was.letter.error_class) << l.letter.record_id;
    EXPECT_EQ(l.letter.message, was.letter.message) << l.letter.record_id;
  }

  // Mended: the conversation goes through (its letter leaves, its text is searchable); the attachment still fails.
  source.broken = false;
  source.refetched.clear();
  retried = RetryFailed(config_, source, embedder_, *store, Options());
  ASSERT_TRUE(retried.has_value()) << retried.error().ToString();
  EXPECT_EQ(retried->resolved, 1);
  EXPECT_EQ(retried->still_failing, 1);
  EXPECT_EQ(retried->not_retryable + retried->not_reread, 2);
  letters = store->ListDeadLetters(kTenant);
  std::set<std::string> left;
  for (const StoredDeadLetter& l : *letters) left.insert(l.letter.record_id);
  EXPECT_EQ(left, (std::set<std::string>{"acme_freshdesk_2", "acme_freshdesk_agent-7", attachment}));
  SearchQuery query;
  query.tenant_id = kTenant;
  query.text = "quokkamarker";
  auto hits = store->Search(query);
  ASSERT_TRUE(hits.has_value()) << hits.error().ToString();
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ(hits->front().document_id, "acme_freshdesk_1");
}

// An embedder whose Embed() stands for a remote call: the first call blocks until the chunk stage has reached
// `wait_for` (a text of a later batch) or `timeout` passes. It notes the threads that counted tokens (the chunk
// stage: CPU workers) and the threads that embedded.
class BlockingEmbedder : public HashingEmbedder {
 public:
  BlockingEmbedder(bool network_bound, std::string wait_for, std::chrono::milliseconds timeout)
      : HashingEmbedder(kDim), network_bound_(network_bound), wait_for_(std::move(wait_for)), timeout_(timeout) {}
  EmbedderCapabilities capabilities() const override {
    return {.thread_safe = true, .network_bound = network_bound_};
  }
  int CountTokens(const std::string& text) const override {
    std::lock_guard lock(mutex_);
    chunk_threads_.insert(std::this_thread::get_id());
    if (text.find(wait_for_) != std::string::npos) {
      reached_ = true;
      reached_changed_.notify_all();
    }
    return HashingEmbedder::CountTokens(text);
  }
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override {
    {
      std::unique_lock lock(mutex_);
      embed_threads_.insert(std::this_thread::get_id());
      if (first_call_) {
        first_call_ = false;
        reached_while_blocked_ =
            reached_changed_.wait_for(lock, timeout_, [&] { return reached_; });
      }
    }
    return HashingEmbedder::Embed(texts);
  }

  bool reached_while_blocked() const { return reached_while_blocked_; }
  std::set<std::thread::id> chunk_threads() const {
    std::lock_guard lock(mutex_);
    return chunk_threads_;
  }
  std::set<std::thread::id> embed_threads() const {
    std::lock_guard lock(mutex_);
    return embed_threads_;
  }

 private:
  const bool network_bound_;
  const std::string wait_for_;
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  mutable std::condition_variable reached_changed_;
  mutable bool reached_ = false;
  mutable std::set<std::thread::id> chunk_threads_;
  std::set<std::thread::id> embed_threads_;
  bool first_call_ = true;
  bool reached_while_blocked_ = false;
};

TEST_F(RunnerTest, ARemoteEmbedderWaitsOnIoThreadsWhileTheCpuWorkersGoOn) {
  auto store = OpenIn("remote");
  FakeSource source;
  source.pages = 3;
  // The first embedding call (page 1's tickets) holds on until page 2's first ticket is being chunked: only
  // possible if a CPU worker is free while the embedder waits.
  BlockingEmbedder remote(/*network_bound=*/true, "Printer 6 ", std::chrono::seconds(5));
  RunnerOptions options = Options();
  options.cpu_workers = 1;
  options.io_workers = 1;
  Runner runner(config_, source, remote, *store, options);
  auto summary = runner.Run();
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  EXPECT_EQ(summary->documents_written, 15);
  EXPECT_TRUE(remote.reached_while_blocked()) << "the CPU worker was held by the embedder's wait";
  const std::set<std::thread::id> cpu = remote.chunk_threads();
  for (const std::thread::id& thread : remote.embed_threads()) {
    EXPECT_EQ(cpu.count(thread), 0u) << "a network-bound embedder ran on a CPU worker";
  }
  EXPECT_EQ(store->ComputeDigest(kTenant)->hex, [&] {
    auto clean = OpenIn("remote_clean");
    FakeSource same;
    same.pages = 3;
    Runner local(config_, same, embedder_, *clean, Options());
    EXPECT_TRUE(local.Run().has_value());
    return clean->ComputeDigest(kTenant)->hex;
  }()) << "the I/O lane changes where the embedder runs, not what is stored";
}

TEST_F(RunnerTest, ALocalEmbedderComputesOnTheCpuWorkers) {
  auto store = OpenIn("local");
  FakeSource source;
  source.pages = 2;
  BlockingEmbedder local(/*network_bound=*/false, "no such text", std::chrono::milliseconds(0));
  RunnerOptions options = Options();
  options.cpu_workers = 2;
  Runner runner(config_, source, local, *store, options);
  ASSERT_TRUE(runner.Run().has_value());
  const std::set<std::thread::id> cpu = local.chunk_threads();
  ASSERT_FALSE(local.embed_threads().empty());
  for (const std::thread::id& thread : local.embed_threads()) EXPECT_EQ(cpu.count(thread), 1u);
}

}  // namespace
}  // namespace deskpipe
