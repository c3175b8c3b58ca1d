// The cursor of an `updated_since` list stream (tickets in its three passes; contacts and companies) and the
// pure rules that move it. No I/O: FreshdeskSource fetches, this decides what to skip and where to go next.
//
// Tickets are listed with updated_since=window_start, order_by=updated_at asc, and Freshdesk refuses pages
// beyond 300 (API.md §3). Timestamps are whole seconds, so a window is resumed from the greatest updated_at
// emitted (max_updated_at), skipping the ids already emitted at exactly that second (max_ids). A window that
// reaches the page cap while every ticket it emitted shares its window_start second cannot advance that way:
// it is "split" instead. The split lists the same updated_since=S tickets ordered by created_at — first
// ascending, then, if that also reaches the cap, descending — emitting only tickets with updated_at == S not
// yet emitted. The two orders are the same set sorted both ways, so once the descending pass reaches a ticket
// the ascending pass covered (the same id, or an earlier created_at than the ascending pass's last ticket)
// every ticket of second S has been seen: the stream continues with a window starting at S+1. This covers
// up to 2 × 300 pages (60,000 tickets at per_page=100) in one second; beyond that the split fails loudly
// (Internal) rather than losing tickets. The search API is not used to split: it has day granularity, 300
// results per query and an indexing lag (API.md §6.5).
//
// JSON form (all keys optional on input except window_start; unknown keys ignored):
//   {"window_start": "…Z", "page": n, "per_page": k, "skip_ids": ids, "max_updated_at": "…Z",
//    "max_ids": ids,
//    "split": {"order_type": "asc"|"desc", "page": n, "asc_last_id": id, "asc_last_created_at": "…Z"}}
// where `ids` is a JSON array of ids and [first, last] runs of consecutive ids (bulk edits touch runs of
// tickets, so a 50,000-id set usually stays small).
//
// Value type; not synchronized.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace deskpipe::freshdesk {

// Compact id sets (see above).
nlohmann::json EncodeIdSet(const std::set<int64_t>& ids);
// InvalidArgument naming `what` on anything but ids and [first, last] runs with first <= last.
Result<std::set<int64_t>> DecodeIdSet(const nlohmann::json& value, const std::string& what);

struct ListCursor {
  int64_t window_start = 0;  // updated_since of the window (unix seconds)
  int page = 1;              // next page to fetch (1-based)
  int per_page = 100;
  std::set<int64_t> skip_ids;  // ids at exactly window_start emitted before this window
  int64_t max_ts = 0;          // greatest updated_at emitted in this window (≥ window_start)
  std::set<int64_t> max_ids;   // ids emitted at exactly max_ts (starts as skip_ids)

  // Splitting the second `window_start` (only when max_ts == window_start).
  bool splitting = false;
  bool split_descending = false;
  int split_page = 1;
  bool has_asc_last = false;
  int64_t asc_last_id = 0;
  int64_t asc_last_created = 0;

  // A fresh cursor starting at `start` (first run).
  static ListCursor Start(int64_t start, int per_page);
  // `cursor` null ⇒ Start(start, per_page). InvalidArgument naming `stream` on a malformed cursor.
  static Result<ListCursor> Parse(const nlohmann::json& cursor, int64_t start, int per_page,
                                  const std::string& stream);
  nlohmann::json ToJson() const;

  // Whether a listed object was already emitted (at the window's first second, by an earlier window).
  bool AlreadyEmitted(int64_t id, int64_t updated_at) const {
    return updated_at <= window_start && skip_ids.count(id) > 0;
  }
  // Records that (id, updated_at) was emitted.
  void Saw(int64_t id, int64_t updated_at);

  // The window that follows this one: from max_ts, skipping max_ids.
  ListCursor NextWindow() const;
  // What to do when this window reaches the page cap with more to come: NextWindow(), or the start of a
  // split of window_start when the window could not advance past its first second.
  ListCursor AtPageCap() const;
  // After a completed split of second S = window_start: a window from S+1.
  ListCursor AfterSplit() const;
};

}  // namespace deskpipe::freshdesk
