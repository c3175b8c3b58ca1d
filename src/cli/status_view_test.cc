#include "cli/status_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace deskpipe::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

app::TenantStatus SyncedTenant() {
  app::TenantStatus status;
  status.profile.embedder = "hashing";
  status.profile.model_id = "hashing-v1-256";
  status.profile.dimension = 256;
  status.stats.documents_by_type = {{"article", 30}, {"ticket", 1200}};
  status.stats.records_by_type = {
      {"ticket", 1200}, {"conversation", 4812}, {"company", 1}, {"ticket_field", 12}};
  status.stats.chunks = 2345;
  status.stats.vectors = 2345;
  status.stats.cursors["tickets"] = {{"max_ids", {95, 100}}, {"updated_since", "2026-12-07T20:00:00Z"}};
  status.stats.last_run = {{"id", 3},
                           {"state", "succeeded"},
                           {"started_at", "2026-12-07T20:58:00Z"},
                           {"finished_at", "2026-12-07T21:00:00Z"},
                           {"summary",
                            {{"documents_written", 1230},
                             {"documents_unchanged", 0},
                             {"chunks_embedded", 2345},
                             {"dead_letters", 2},
                             {"seconds", 72.4}}}};
  return status;
}

constexpr int64_t kNow = 1796680800;  // 2026-12-07T22:00:00Z, an hour after the run finished

TEST(StatusView, CountsEmbedderModeAndLastRunInWords) {
  const std::string text = DescribeStatus("acme", "freshdesk", SyncedTenant(), /*verbose=*/false, kNow);
  EXPECT_THAT(text, HasSubstr("tenant acme (freshdesk)"));
  EXPECT_THAT(text, HasSubstr("hashing (hashing-v1-256, 256-d)"));
  EXPECT_THAT(text, HasSubstr("hybrid (SQL records and vectors)"));
  EXPECT_THAT(text, HasSubstr("1,200 tickets, 30 articles (2,345 chunks, 2,345 vectors)"));
  EXPECT_THAT(text, HasSubstr("4,812 conversations, 1,200 tickets, 12 ticket fields, 1 company"));
  EXPECT_THAT(text, HasSubstr("#3 succeeded 1 hour ago (2026-12-07T21:00:00Z), took 1:12"));
  EXPECT_THAT(text, HasSubstr("1,230 documents written, 0 unchanged, 2,345 chunks embedded, 2 dead letters"));
  EXPECT_THAT(text, HasSubstr("deskpipe retry-failed --tenant acme --list"));
  // No raw cursors or snake_case counters unless asked for.
  EXPECT_THAT(text, Not(HasSubstr("max_ids")));
  EXPECT_THAT(text, Not(HasSubstr("documents_written")));
  EXPECT_THAT(text, Not(HasSubstr("ticket_field")));
}

TEST(StatusView, VerboseAddsCursorsAndJsonHasEverything) {
  const app::TenantStatus status = SyncedTenant();
  EXPECT_THAT(DescribeStatus("acme", "freshdesk", status, /*verbose=*/true, kNow),
              HasSubstr("cursor tickets: {\"max_ids\":[95,100]"));
  const nlohmann::json json = StatusJson("acme", "freshdesk", status);
  EXPECT_EQ(json["cursors"]["tickets"]["max_ids"][1], 100);
  EXPECT_EQ(json["embedder"]["model_id"], "hashing-v1-256");
  EXPECT_EQ(json["mode"], "hybrid");
  EXPECT_EQ(json["documents"]["ticket"], 1200);
}

TEST(StatusView, FailedAndMissingRuns) {
  app::TenantStatus status = SyncedTenant();
  status.profile.writes_records = false;
  status.stats.last_run["state"] = "failed";
  status.stats.last_run["summary"] = {{"error", "Unauthenticated: check the API key"}, {"dead_letters", 0}};
  std::string text = DescribeStatus("acme", "freshdesk", status, false, kNow);
  EXPECT_THAT(text, HasSubstr("vector-only (minimal SQL)"));
  EXPECT_THAT(text, Not(HasSubstr("records ")));
  EXPECT_THAT(text, HasSubstr("#3 failed"));
  EXPECT_THAT(text, HasSubstr("error: Unauthenticated: check the API key"));
  EXPECT_THAT(text, HasSubstr("no dead letters"));
  status.stats.last_run = nullptr;
  EXPECT_THAT(DescribeStatus("acme", "freshdesk", status, false, kNow), HasSubstr("last run    none yet"));
}

TEST(StatusView, Words) {
  EXPECT_EQ(PluralTypeName("ticket"), "tickets");
  EXPECT_EQ(PluralTypeName("company"), "companies");
  EXPECT_EQ(PluralTypeName("ticket_field"), "ticket fields");
  EXPECT_EQ(PluralTypeName("survey"), "surveys");
  EXPECT_EQ(PluralTypeName("time_entry"), "time entries");
  EXPECT_EQ(GroupedCount(0), "0");
  EXPECT_EQ(GroupedCount(999), "999");
  EXPECT_EQ(GroupedCount(1234567), "1,234,567");
  EXPECT_EQ(TimeAgo(100, 100), "0 seconds ago");
  EXPECT_EQ(TimeAgo(0, 61), "1 minute ago");
  EXPECT_EQ(TimeAgo(0, 2 * 86400 + 5), "2 days ago");
}

TEST(StatusView, RunDescribedWithTenantAndDeadLetterHint) {
  RunSummary summary;
  summary.documents_written = 12;
  summary.chunks_embedded = 30;
  summary.dead_letters = 1;
  summary.seconds = 5;
  summary.streams["satisfaction_ratings"].skipped = true;
  summary.streams["satisfaction_ratings"].skip_reason = "not on this plan (403)";
  const std::string text = DescribeRun("acme", summary);
  EXPECT_THAT(text,
              HasSubstr("synced tenant acme in 0:05: 12 documents written, 0 unchanged, 30 chunks embedded, "
                        "1 dead letter"));
  EXPECT_THAT(text, HasSubstr("stream satisfaction_ratings skipped: not on this plan (403)"));
  EXPECT_THAT(text, HasSubstr("retry-failed --tenant acme"));
  summary.stopped = true;
  EXPECT_THAT(DescribeRun("acme", summary), HasSubstr("stopped tenant acme"));
}

TEST(StatusView, SnippetForPeopleDecodesEntitiesAndShowsMarks) {
  const std::string marked = "my &lt;b&gt; <mark>printer</mark> &amp; <mark>jams</mark> &quot;x&quot; &#39;y&#39;";
  EXPECT_EQ(SnippetForPeople(marked, false), "my <b> *printer* & *jams* \"x\" 'y'");
  EXPECT_EQ(SnippetForPeople(marked, true), "my <b> \x1b[1mprinter\x1b[0m & \x1b[1mjams\x1b[0m \"x\" 'y'");
  EXPECT_EQ(SnippetForPeople("no marks…", false), "no marks…");
}

}  // namespace
}  // namespace deskpipe::cli
