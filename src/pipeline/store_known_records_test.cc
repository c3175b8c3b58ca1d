// StoreKnownRecords over a real SQLite store: a source's view of one tenant, and nothing after Detach().
#include "pipeline/store_known_records.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "store/store.h"

namespace deskpipe {
namespace {

namespace fs = std::filesystem;

TEST(StoreKnownRecordsTest, AnswersForItsTenantFromTheStoreUntilDetached) {
  const fs::path dir = fs::temp_directory_path() / ("deskpipe_known_records_" + std::to_string(getpid()));
  fs::remove_all(dir);
  StoreOptions options;
  options.url = "sqlite://" + (dir / "deskpipe.db").string();
  options.data_dir = dir.string();
  auto store = OpenStore(options);
  ASSERT_TRUE(store.has_value()) << store.error().ToString();

  for (const std::string tenant : {"acme", "globex"}) {
    BatchWrite batch;
    batch.tenant_id = tenant;
    batch.stream = "tickets";
    Record ticket;
    ticket.id = tenant + "_freshdesk_1";
    ticket.original_id = "1";
    ticket.type = "ticket";
    ticket.updated_at = "2025-01-01T00:00:00Z";
    ticket.metadata = {{"state", "spam"}};
    Record conversation = ticket;
    conversation.id = tenant + "_freshdesk_conversation-9";
    conversation.original_id = "conversation-9";
    conversation.type = "conversation";
    conversation.parent_id = ticket.id;
    batch.records = {ticket, conversation};
    Document document;
    document.id = ticket.id;
    document.type = "ticket";
    document.state = "spam";
    document.updated_at = "2025-01-02T00:00:00Z";  // a later conversation's
    document.metadata = {{"updated_at", "2025-01-01T00:00:00Z"}};
    document.content_hash = "h";
    batch.documents = {document};
    ASSERT_TRUE((*store)->Commit(batch, "model").has_value());
  }

  std::mutex store_mutex;
  StoreKnownRecords known(**store, "acme", store_mutex);
  auto tickets = known.List("ticket", "", 10);
  ASSERT_TRUE(tickets.has_value()) << tickets.error().ToString();
  ASSERT_EQ(tickets->size(), 1u);
  EXPECT_EQ((*tickets)[0].id, "acme_freshdesk_1");
  EXPECT_EQ((*tickets)[0].state, "spam");
  EXPECT_EQ((*tickets)[0].updated_at, "2025-01-01T00:00:00Z");
  auto children = known.Children("acme_freshdesk_1");
  ASSERT_TRUE(children.has_value());
  ASSERT_EQ(children->size(), 1u);
  EXPECT_EQ((*children)[0].id, "acme_freshdesk_conversation-9");
  EXPECT_EQ((*children)[0].parent_id, "acme_freshdesk_1");
  EXPECT_TRUE(known.Children("globex_freshdesk_1")->empty()) << "another tenant's records are not visible";
  EXPECT_EQ(known.Lookup({"acme_freshdesk_1", "globex_freshdesk_1", "acme_freshdesk_2"})->size(), 1u);

  known.Detach();
  for (auto result : {known.List("ticket", "", 10), known.Children("acme_freshdesk_1"),
                      known.Lookup({"acme_freshdesk_1"})}) {
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), StatusCode::kCancelled);
  }
  store->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace deskpipe
