// Real-text data for the emulator (--dataset DIR, normally /work/shared/data): replaces the synthetic tickets
// and knowledge base of a generated helpdesk with
//   ibm-twitter-customer-care/{dev,test}.json  → one ticket per dialog, later tweets as conversations
//                                                (agent tweets = agent replies, customer tweets = customer replies)
//   bitext/*.csv                               → one ticket per row (instruction = description, response = the
//                                                agent reply)
//   abcd/guidelines.json                       → one KB category, a folder per flow, an article per subflow
// Agents, groups, contacts, companies and fields stay the generated ones. Times keep each dialog's relative
// spacing and are shifted to end before the helpdesk's `now`; ticket ids are 1..N in creation order.
//
// Pure function over a Helpdesk the caller owns; thread-compatible.
#pragma once

#include <string>

#include "core/status.h"
#include "helpdesk.h"

namespace deskpipe::emulator {

// NotFound/InvalidArgument name the missing or malformed file. Sets that are absent are skipped, but at least
// one must be present. `max_tickets` > 0 caps the ticket count (the IBM dialogs come first).
Result<void> LoadDataset(Helpdesk* desk, const std::string& directory, int max_tickets);

}  // namespace deskpipe::emulator
