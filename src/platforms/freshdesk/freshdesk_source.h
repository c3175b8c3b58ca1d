// FreshdeskSource: one Freshdesk account read as the streams "agents", "ticket_fields", "tickets" and
// "solutions" (in that order, so agent names and custom status labels resolve before tickets are mapped).
//
// Cursors (JSON; each one survives a crash after any batch — replaying a batch is harmless downstream):
//
//   agents, ticket_fields: {"page": n} while paging; null once done (full refresh every run).
//
//   tickets:
//     {"window_start":   "YYYY-MM-DDTHH:MM:SSZ"  // updated_since of this window (first run: start_date)
//      "page":           n,                       // next page of the window to fetch (1-based)
//      "per_page":       k,                       // page size the window was started with (kept on resume)
//      "skip_ids":       [id, …],                 // tickets at exactly window_start already emitted by the
//                                                 // previous window: skipped so none is duplicated
//      "max_updated_at": "…Z",                    // greatest updated_at emitted so far in this window
//      "max_ids":        [id, …]}                 // the ticket ids emitted at exactly max_updated_at
//   Each Next fetches one page (ordered by updated_at asc) and, per ticket, all its conversation pages. When
//   a page has no `next` link the stream is done and the cursor becomes a new window starting at
//   max_updated_at with max_ids as its skip set, so the next run is incremental. When page 300 has more to
//   come, or Freshdesk answers the page-cap 400, a new window starts the same way (no ticket lost, none
//   duplicated).
//
//   solutions: {"folder_index": i, "folder_id": id, "page": n} — a position in the full walk
//     categories → folders (and their subfolders) → articles; one batch per articles page; null once done
//     so the next run walks again (no updated_since in the KB API).
//
// A record that fails mapping is skipped and listed in Batch::rejected; the batch goes on.
//
// Not thread-safe: the runner drives an instance from one task. The HttpClient must outlive it.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "net/http_client.h"
#include "platforms/freshdesk/freshdesk_client.h"
#include "platforms/freshdesk/mapping.h"
#include "platforms/platform.h"

namespace deskpipe::freshdesk {

// The Freshdesk tickets list refuses pages beyond this one (API.md §3).
inline constexpr int kMaxTicketPages = 300;

class FreshdeskSource : public Source {
 public:
  // Resolves the API base and key from `config` (InvalidArgument on a bad setting). `options` are the
  // client's (tests inject sleep/now); its rate_limit_delay is taken from config.rate_limit_delay when left
  // at 0.
  static Result<std::unique_ptr<FreshdeskSource>> Create(const Config& config, net::HttpClient& http,
                                                         FreshdeskClientOptions options = {});

  std::string platform() const override { return "freshdesk"; }
  std::vector<std::string> Streams() const override;
  Result<Batch> Next(const std::string& stream, const nlohmann::json& cursor) override;

  const MappingContext& mapping_context() const { return context_; }

 private:
  FreshdeskSource(const Config& config, std::unique_ptr<FreshdeskClient> client, MappingContext context);

  Result<Batch> NextAgents(const nlohmann::json& cursor);
  Result<Batch> NextTicketFields(const nlohmann::json& cursor);
  Result<Batch> NextTickets(const nlohmann::json& cursor);
  Result<Batch> NextSolutions(const nlohmann::json& cursor);

  // Loads agent names / custom statuses when this process has not read those streams yet.
  Result<void> EnsureReferenceData();
  Result<void> LoadAllAgents();
  Result<void> LoadTicketFields(Batch* batch);
  // Appends all conversations of `ticket` (every page) to `batch`.
  Result<void> AppendConversations(const Record& ticket, int64_t ticket_id, Batch* batch);
  // The folders of the KB walk, in order (each with category_id/category_name added).
  Result<std::vector<nlohmann::json>> ListFolders();
  Result<void> AppendSubfolders(const nlohmann::json& parent, const nlohmann::json& category,
                                std::vector<nlohmann::json>* out, int depth);

  Config config_;
  std::unique_ptr<FreshdeskClient> client_;
  MappingContext context_;
  int per_page_;
  bool agents_loaded_ = false;
  bool agents_stream_from_start_ = false;  // the agents stream began at page 1 in this process
  bool ticket_fields_loaded_ = false;
  std::optional<std::vector<nlohmann::json>> folders_;  // cached for one walk
};

// The registry's factory for "freshdesk".
Result<std::unique_ptr<Source>> CreateSource(const Config& config, net::HttpClient& http);

}  // namespace deskpipe::freshdesk
