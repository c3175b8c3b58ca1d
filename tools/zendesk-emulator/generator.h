// Deterministic synthetic data for the Zendesk emulator: a fictional SaaS vendor's ("Brightline") Support
// account and Help Center. Same options ⇒ the same Account, byte for byte once rendered.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "account.h"
#include "core/status.h"

namespace deskpipe::zendesk_emulator {

inline constexpr int kMaxTickets = 1'000'000;

struct GeneratorOptions {
  uint64_t seed = 42;
  int tickets = 200;  // 0 … kMaxTickets
  int64_t now = 0;    // the account's current time (Unix seconds)
};

// The generated account (see README.md "Data"): tickets 1..N created over the two years before `now`, each
// with 1–7 comments (the first is the description), ~2% soft-deleted, ~3% touched by a system update after
// their last event; the last ticket and the last end user change 20 s / 10 s before `now` (inside the minute
// the exports leave out). InvalidArgument for a ticket count out of range or now ≤ 0.
Result<Account> GenerateAccount(const GeneratorOptions& options);

// Turns the account's comments into ticket events (one audit per comment, plus the create and final status
// changes), ordered by (timestamp, id). The generator calls it; the dataset loader after replacing tickets.
void BuildTicketEvents(Account* account);

}  // namespace deskpipe::zendesk_emulator
