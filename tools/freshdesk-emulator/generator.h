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
  // "full" lifecycle data on top of the basic helpdesk: spam / trashed / archived / hard-deleted tickets,
  // attachments (real files), deleted and blocked contacts, KB subfolders and translations (fr, de).
  bool full = false;
  // With `full`: about one attachment in ten is broken or hostile (attachments.h).
  bool hostile_attachments = false;
};

inline constexpr int kMaxTickets = 1'000'000;

// InvalidArgument for a negative or too large ticket count or a non-positive `now`.
Result<Helpdesk> GenerateHelpdesk(const GeneratorOptions& options);

// Adds the `full` lifecycle data to a generated helpdesk (GenerateHelpdesk calls it when options.full).
Result<void> EnrichHelpdesk(Helpdesk* desk, const GeneratorOptions& options);

// The next free id for a new object of a kind (timeline additions): one past the largest id in use.
int64_t NextConversationId(const Helpdesk& desk);
int64_t NextAttachmentId(const Helpdesk& desk);

// The summary `freshdesk-emulator --describe` prints: counts a full sync must find plus one sample ticket
// ("tickets" counts every ticket that still exists, i.e. not hard-deleted; "listed_tickets" those in the
// default list views: not spam, trashed or archived)
// with its whole thread:
//   {"tickets":N,"conversations":M,"articles":K,"published_articles":P,"agents":A,"groups":…,"contacts":…,
//    "companies":…,"categories":…,"folders":…,"tickets_created_last_30_days":…,
//    "listed_tickets":…,"spam_tickets":…,"deleted_tickets":…,"archived_tickets":…,"purged_tickets":…,
//    "attachments":…,"languages":[…],"translations":…,
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
