// ZendeskSource: one Zendesk account read as streams, in this order (reference data first, so names and
// labels resolve before tickets are mapped):
//
//   groups          GET /groups (cursor pagination, every page)                  full, one batch
//   ticket_fields   GET /ticket_fields: titles and drop-down option names         full, one batch
//   organizations   GET /organizations (cursor pagination, every page)           full, one batch
//   users           GET /incremental/users/cursor.json                           incremental, a batch per
//   page tickets         GET /incremental/tickets/cursor.json                         incremental, a batch
//   per page
//
// Exports (docs/zendesk-api.md §2): the first request sends start_time (DESKPIPE_START_DATE), later ones the
// saved after_cursor; the caller's per_page is re-sent on every page rather than trusted to after_url. The
// batch's cursor is {"after_cursor": …}, returned with the page it covers so the runner saves it once that
// page is committed; done when end_of_stream is true.
// Tickets: a ticket with status "deleted" is a tombstone of the ticket and of the comments the store holds
// for it (a restore exports it again and it is read whole). A ticket the store holds with the same updated_at
// (KnownRecords) is unchanged — a system update moves only generated_timestamp — and is neither re-emitted
// nor are its comments re-read. Every other ticket's comments are read, every page (page[size]=100,
// links.next while meta.has_more); a 404 on them (deleted meanwhile) tombstones the ticket. Comments cannot
// be deleted in Zendesk (only redacted), so none are diffed away.
//
// Attachments of a read comment are downloaded right away from their content_url (§5: no request of the
// budget, no credentials sent), unless their declared size exceeds attachment_max_bytes (the setting
// Freshdesk declares; one limit for every platform); a failure is the attachment's download_error, never
// the comment's.
//
// Articles: the export lists articles whose metadata changed since start_time (cursor {"start_time": …}, the
// previous page's end_time; the stream is done on a page short of 1,000 or without next_page, §3 ASSUMED).
// Each listed article's translations are read (every page) and each becomes its own document with its
// language (mapping.h); a translation that turned draft is removed from what is indexed and kept apart, and
// the other way round. Archived articles are in no list and in no export: when the export is done and a
// store view is attached, the live article ids are listed (GET /help_center/articles, page[size]=100, every
// page: one request per 100 articles per sync) and every stored translation of an article not among them is
// tombstoned.
//
// A record that fails mapping is skipped and listed in Batch::rejected ("ticket 42", "conversation 7", …).
// Not thread-safe: the runner drives an instance from one task. The HttpClient and any attached KnownRecords
// must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "net/http_client.h"
#include "platforms/platform.h"
#include "platforms/zendesk/mapping.h"
#include "platforms/zendesk/zendesk_client.h"

namespace deskpipe::zendesk {

class ZendeskSource : public Source {
 public:
  // Resolves the API base and credentials from `config` (InvalidArgument on a bad setting). `options` are the
  // client's, completed from the config by ApplyConfigToClientOptions.
  static Result<std::unique_ptr<ZendeskSource>> Create(const Config& config, net::HttpClient& http,
                                                       ZendeskClientOptions options = {});

  std::string platform() const override { return "zendesk"; }
  std::vector<std::string> Streams() const override;
  Result<Batch> Next(const std::string& stream, const nlohmann::json& cursor) override;
  void AttachKnownRecords(KnownRecords* known) override { known_ = known; }
  std::optional<SourceUsage> Usage() const override;

  const MappingContext& mapping_context() const { return context_; }

 private:
  ZendeskSource(std::unique_ptr<ZendeskClient> client, net::HttpClient& http, MappingContext context,
                int64_t start_ts, int per_page, int64_t attachment_max_bytes);

  // Fills the bytes (or download_error) of `record`'s attachments, mapped in order from `comment`'s.
  void DownloadAttachments(const nlohmann::json& comment, Record* record);

  // Every item of `key` on every page of the cursor-paginated list `path`.
  Result<std::vector<nlohmann::json>> ListAll(const std::string& path, const std::string& key);
  Result<Batch> NextGroups();
  Result<Batch> NextTicketFields();
  Result<Batch> NextOrganizations();
  // One page of the cursor export of `resource` ("tickets", "users") after `cursor`.
  Result<nlohmann::json> ExportPage(const std::string& resource, const nlohmann::json& cursor, Batch* batch);
  Result<Batch> NextUsers(const nlohmann::json& cursor);
  Result<Batch> NextTickets(const nlohmann::json& cursor);
  Result<Batch> NextArticles(const nlohmann::json& cursor);
  // Tombstones the stored translations of articles no longer listed (archived) into `batch`.
  Result<void> RemoveArchivedArticles(Batch* batch);
  // Reads the users among `ids` that the mapping context does not know yet (GET /users/{id}: a sync resumed
  // from a users cursor only saw the users changed since), so names and roles resolve. A 404 is skipped.
  Result<void> LearnUsers(const std::vector<int64_t>& ids);
  // The ticket's record ids, and those of the comments the store holds for it, into batch->removed_ids.
  Result<void> Tombstone(const std::string& ticket_id, Batch* batch);

  std::unique_ptr<ZendeskClient> client_;
  net::HttpClient& http_;
  MappingContext context_;
  KnownRecords* known_ = nullptr;
  int64_t start_ts_ = 0;
  int per_page_ = 100;
  int64_t attachment_max_bytes_ = 0;
};

// The registry's factory for "zendesk".
Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http);

}  // namespace deskpipe::zendesk
