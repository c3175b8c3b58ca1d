// FreshdeskSource: one Freshdesk account read as streams, in this order (reference data first, so names and
// labels resolve before tickets and articles are mapped):
//
//   settings        /settings/helpdesk (languages for the KB walk)                     full, one batch
//   agents, groups  id → name                                                          full, paged
//   ticket_fields   custom status labels, source labels, custom field labels           full, one batch
//   contact_fields, company_fields                                                     full, one batch
//   companies       updated_since, incremental (ListCursor)
//   contacts        _updated_since, incremental; contacts_deleted: the same with state=deleted
//   tickets, tickets_deleted, tickets_spam
//                   the three ticket passes (default, filter=deleted, filter=spam), each its own cursor
//                   (ticket_window.h: updated_since windows, page-cap re-windowing, one-second splits)
//   tickets_reconcile
//                   the reconciliation sweep over stored ticket ids (needs KnownRecords)
//   solutions       categories → folders → subfolders (recursive) → articles, per language
//
// Tickets: a page lists up to 100 tickets (order_by=updated_at asc, include=description,requester,stats).
// A ticket neither emitted by this window nor held by the store with the same updated_at and state
// (KnownRecords) is new or changed: it is viewed (GET /tickets/{id}?include=company, for its attachments and
// company name), its conversations are listed (every page, per_page=100), attachments of the ticket and its
// conversations are downloaded right away (expired URLs re-signed through the parent), and conversations the
// store holds for it but Freshdesk no longer lists go to Batch::removed_ids. Trash and spam are states of the
// ticket (metadata.state), never tombstones: they can be restored.
//
// Reconciliation (tickets_reconcile): at most once per `reconcile_interval`, the stored ticket ids are
// walked in id order, `reconcile_batch` per batch and at most `reconcile_max_probes` per run (its share of
// the budget): GET /tickets/{id}; a changed state or updated_at re-reads the ticket; a 404 probes
// /tickets/archived/{id} — archived (state "archived", read from the archive) or, when that is 404 too, a
// tombstone of the ticket and its conversations. Cursor: {"after_id", "sweep_started_at",
// "last_sweep_started_at"}; the first run only records the time (everything was just read).
//
// Knowledge base: the folder tree is walked once per language of /settings/helpdesk (primary, then
// supported_languages); articles are paged per folder; an article the store already holds with the same
// updated_at and status is not re-emitted. When a whole walk ran in this process, stored articles not
// seen in it are tombstoned. Drafts are kept apart (mapping.h). Cursor {"language_index", "folder_index",
// "folder_id", "page"}; {"complete": true} once done, so the next run walks again (the KB has no
// updated_since).
//
// Counts (CountRemaining, for progress totals):
//   tickets         the search API's `total` for GET /search/tickets?query="updated_at:>'YYYY-MM-DD'" (1 credit;
//                   API.md §6.5) with the day of the cursor's resume point (the greater of its window_start and
//                   max_updated_at), or of DESKPIPE_START_DATE on a first run. `:>` on a date is ≥ that day
//                   (day granularity), so the count is an upper bound: tickets of that first day already read
//                   (or updated earlier that day than the start date) count again, and tickets unchanged since
//                   the store holds them are counted but not re-emitted. Like the tickets list, search leaves out
//                   archived, spam and trashed tickets. Its index lags a few minutes, so it can also count a
//                   ticket or two short.
//   settings        1 (one record, no call).
//   tickets_reconcile  0 when no sweep is due (first run, not due yet, no store view), else none.
//   others          none (nullopt): no cheap exact count (the trash and spam passes cannot be searched; the
//                   contacts and companies searches differ from their lists; the KB has no count).
// Usage: the credits the account's governor charged in this process (shared by every client of the account in
// it) and the budget, X-RateLimit-Total × api_budget_share per rate window.
//
// Every cursor is returned in the Batch whose records it covers; the runner saves it with that batch, never
// before. A record that fails mapping is skipped and listed in Batch::rejected; the batch goes on.
//
// Not thread-safe: the runner drives an instance from one task. The HttpClient and any attached
// KnownRecords must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/hash.h"
#include "net/http_client.h"
#include "platforms/freshdesk/attachments.h"
#include "platforms/freshdesk/freshdesk_client.h"
#include "platforms/freshdesk/mapping.h"
#include "platforms/freshdesk/ticket_window.h"
#include "platforms/platform.h"

namespace deskpipe::freshdesk {

// The Freshdesk tickets list refuses pages beyond this one (API.md §3).
inline constexpr int kMaxTicketPages = 300;

// Source settings beyond the shared Config (defaults suit production; tests shrink them).
struct FreshdeskSourceOptions {
  AttachmentOptions attachments;     // size limit checked before download
  bool download_attachments = true;
  bool index_drafts = false;         // draft articles indexed as articles (else kept apart, not indexed)
  std::chrono::seconds reconcile_interval{24 * 3600};  // cadence of the reconciliation sweep
  int reconcile_max_probes = 2000;   // ticket views the sweep may spend per run (its budget share)
  int reconcile_batch = 100;         // stored ids probed per batch
  int max_ticket_pages = kMaxTicketPages;  // the list's page cap (tests use the real one; kept for fakes)
  std::function<int64_t()> now_unix;  // the clock of the reconciliation cadence (default: system)
};

// The source options a configuration asks for: attachment_max_bytes (0 = no downloads), index_drafts,
// reconcile_interval, reconcile_max_probes; the rest at their defaults.
FreshdeskSourceOptions SourceOptionsFromConfig(const Config& config);

class FreshdeskSource : public Source {
 public:
  // Resolves the API base and key from `config` (InvalidArgument on a bad setting). `options` are the
  // client's (tests inject sleep/now), completed from the config by ApplyConfigToClientOptions.
  static Result<std::unique_ptr<FreshdeskSource>> Create(const Config& config, net::HttpClient& http,
                                                         FreshdeskClientOptions options = {},
                                                         FreshdeskSourceOptions source_options = {});

  std::string platform() const override { return "freshdesk"; }
  std::vector<std::string> Streams() const override;
  Result<Batch> Next(const std::string& stream, const nlohmann::json& cursor) override;
  void AttachKnownRecords(KnownRecords* known) override { known_ = known; }
  // See "Counts" above. A failed search is an error (the caller logs it and goes on without a total).
  Result<std::optional<int64_t>> CountRemaining(const std::string& stream, const nlohmann::json& cursor) override;
  std::optional<SourceUsage> Usage() const override;
  // Reads one record again for `deskpipe retry-failed`. `record_id` as a dead letter names it: a record id
  // ("acme_freshdesk_123", "…_conversation-7", "acme_freshdesk_article-9-fr", "…_article_draft-9", "…_contact-5",
  // "…_company-7"), one with a suffix (" conversations", "/attachment-<id>": the record it belongs to is re-read)
  // or a mapping failure's "<type> <platform id>" (ticket, conversation, article, contact, company). A ticket
  // comes with its conversations and attachments, from the archive when the live path answers 404. A
  // conversation has no endpoint of its own: its ticket, found through the attached KnownRecords (the stored
  // conversation's parent), is re-read whole. NotFound when Freshdesk no longer has it (or its ticket);
  // Unavailable when a conversation did not come with its ticket's thread this time; InvalidRecord for what
  // cannot be re-read (a conversation whose ticket the store does not know; reference data, re-read whole by
  // its stream).
  Result<Batch> Refetch(const std::string& stream, const std::string& record_id) override;

  const MappingContext& mapping_context() const { return context_; }
  const AttachmentStats& attachment_stats() const { return downloader_.stats(); }

 private:
  FreshdeskSource(const Config& config, net::HttpClient& http, std::unique_ptr<FreshdeskClient> client,
                  MappingContext context, FreshdeskSourceOptions options);

  // Reference data.
  Result<Batch> NextSettings();
  Result<Batch> NextPagedReference(const std::string& stream, const nlohmann::json& cursor);
  Result<Batch> NextFieldDefinitions(const std::string& stream);
  Result<Batch> NextIncremental(const std::string& stream, const nlohmann::json& cursor);
  Result<void> EnsureReferenceData();
  Result<void> LoadSettings(Batch* batch);
  Result<void> LoadTicketFields(Batch* batch);

  // Tickets.
  Result<Batch> NextTickets(const std::string& stream, const std::string& filter, const nlohmann::json& cursor);
  Result<Batch> NextTicketWindow(const std::string& stream, const std::string& filter, ListCursor window);
  Result<Batch> NextTicketSplit(const std::string& stream, const std::string& filter, ListCursor window);
  // Sets batch.cursor and remembers its parsed form for the next call (window_cache_).
  void SetTicketCursor(Batch& batch, ListCursor next);
  // Drops the listed tickets the store already holds with the same updated_at and state: unchanged, so
  // neither viewed nor their threads listed again (a resync from an older cursor or the start date costs list
  // pages only). Without KnownRecords every listed ticket counts as changed.
  Result<void> DropUnchanged(std::vector<nlohmann::json>& tickets);
  // Reads a new or changed ticket (list item) completely into `batch`: view, conversations (diffed against
  // the store), attachments. `archived` reads it from /tickets/archived/{id}.
  Result<void> AppendTicket(const nlohmann::json& list_item, bool archived, Batch* batch);
  // The same for a page of tickets, their views and threads fetched concurrently. Takes the items, so each
  // ticket's JSON is merged with its view in place rather than copied.
  Result<void> AppendTickets(std::vector<nlohmann::json> items, bool archived, Batch* batch);
  Result<void> AssembleTicket(nlohmann::json list_item, bool archived, const std::string& view_path,
                              Result<FreshdeskPage> view, Result<std::vector<ApiItem>> listing,
                              Batch* batch);
  static std::string TicketPath(int64_t id, bool archived);
  Result<std::vector<nlohmann::json>> ListConversations(const std::string& ticket_path);
  Result<Batch> NextReconcile(const nlohmann::json& cursor);
  // Refetch of one ticket / article (in `language`, "" = primary) into `batch`.
  Result<void> RefetchTicket(int64_t id, Batch* batch);
  Result<void> RefetchArticle(int64_t id, const std::string& language, Batch* batch);
  // Refetch of one conversation: its ticket's whole thread, the ticket found through known_.
  Result<void> RefetchConversation(int64_t id, Batch* batch);

  // Knowledge base.
  Result<Batch> NextSolutions(const nlohmann::json& cursor);
  Result<std::vector<nlohmann::json>> ListFolders();
  Result<void> AppendSubfolders(const nlohmann::json& parent, const nlohmann::json& category,
                                std::vector<nlohmann::json>* out, int depth);
  std::vector<std::string> Languages() const;

  // Every element of every page of `path` (a JSON array per page).
  Result<std::vector<nlohmann::json>> GetAll(const std::string& path);
  int64_t NowUnix() const;

  Config config_;
  std::unique_ptr<FreshdeskClient> client_;
  MappingContext context_;
  FreshdeskSourceOptions options_;
  AttachmentDownloader downloader_;
  KnownRecords* known_ = nullptr;
  int per_page_;
  int64_t start_ts_ = 0;
  bool agents_loaded_ = false;
  bool groups_loaded_ = false;
  bool ticket_fields_loaded_ = false;
  bool settings_loaded_ = false;
  std::vector<std::string> supported_languages_;
  // Paged full-refresh streams that began at page 1 in this process (so their name maps are complete).
  std::set<std::string> paged_from_start_;
  // The KB walk in progress.
  std::optional<std::vector<nlohmann::json>> folders_;
  bool walk_from_start_ = false;
  // Digests of the article ids this walk returned, sorted when it ends. A set of the ids themselves cost ~130
  // bytes each (3 MB for 25,000 articles) and pinned pages among the batches freed around it.
  std::vector<Hash128> walk_seen_;
  int reconcile_probes_ = 0;  // ticket views spent by the sweep in this process
  // Per ticket stream: the cursor JSON last returned and its parsed form.
  std::map<std::string, std::pair<nlohmann::json, ListCursor>> window_cache_;
  std::optional<ListCursor> pending_window_;
};

// The registry's factory for "freshdesk".
Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http);

}  // namespace deskpipe::freshdesk
