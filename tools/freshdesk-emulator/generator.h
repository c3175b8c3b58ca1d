// Deterministic synthetic helpdesk: GenerateHelpdesk builds a whole Freshdesk account (agents, groups,
// companies, contacts, tickets with threads, a knowledge base, ticket fields) from a seed, a ticket count and
// a "now". The same options always give the same Helpdesk, byte for byte, on every platform (own PRNG, no
// std:: distributions, no wall clock). Text is composed from built-in support vocabulary; nothing is copied
// from real helpdesk data.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "helpdesk.h"

namespace deskpipe::emulator {

struct GeneratorOptions {
  uint64_t seed = 42;  // same seed + tickets + now ⇒ identical data
  int tickets = 200;   // number of tickets, ids 1..tickets (0 … kMaxTickets)
  int64_t now = 0;     // Unix seconds; tickets are created over the two years before it
};

inline constexpr int kMaxTickets = 1'000'000;

// InvalidArgument for a negative or too large ticket count or a non-positive `now`.
Result<Helpdesk> GenerateHelpdesk(const GeneratorOptions& options);

// The summary `freshdesk-emulator --describe` prints: counts a full sync must find plus one sample ticket
// with its whole thread:
//   {"tickets":N,"conversations":M,"articles":K,"published_articles":P,"agents":A,"groups":…,"contacts":…,
//    "companies":…,"categories":…,"folders":…,"tickets_created_last_30_days":…,
//    "sample_ticket":{"id":…,"subject":…,"description_text":…,
//                     "conversations":[{"id":…,"body_text":…,"private":…,"incoming":…},…]}}
// The sample is a ticket with a unique subject whose thread has an agent reply, a customer reply and a
// private note (the first such ticket from the middle of the id range; else the ticket with the longest
// thread).
nlohmann::ordered_json DescribeHelpdesk(const Helpdesk& helpdesk);

// Freshdesk-style plain text of HTML the generator wrote (not a general HTML converter): tags dropped, the
// five XML entities and &nbsp; decoded, block ends and <br> become '\n' (keep_newlines) or ' '.
std::string GeneratedHtmlToText(const std::string& html, bool keep_newlines);

}  // namespace deskpipe::emulator
