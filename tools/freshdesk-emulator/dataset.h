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

struct DatasetOptions {
  int max_tickets = 0;  // > 0 caps the dialogs and rows read (the IBM dialogs come first), before the holdout
  // 0..100: this share of the IBM dialogs and Bitext rows (picked by a hash of each one's stable key, so the
  // same ones every run) is kept out of the tickets and written to `truth_path` as queries instead.
  int holdout_percent = 0;
  // Where to write the ground truth for a retrieval evaluation (bench/retrieval), "" for nowhere. JSON lines:
  //   {"ticket":17,"set":"bitext","label":"cancel_order"}         a synced ticket and its label
  //   {"article":67000290012,"set":"abcd","label":"product_defect/return_size"}
  //   {"query":"bitext/<file>#42","set":"bitext","label":"…","text":"…","relevant_type":"ticket"}
  // Labels: Bitext = the row's intent; IBM = the doc_id of the support article the agent finally linked (not
  // part of the ticket); ABCD = flow/subflow (articles named through ontology.json). ABCD queries are the
  // customer's first two turns of each abcd_sample.json conversation (never synced, so always held out); an
  // IBM query is the customer's turns before the first agent reply.
  std::string truth_path;
};

// NotFound/InvalidArgument name the missing or malformed file. Sets that are absent are skipped, but at least
// one must be present.
Result<void> LoadDataset(Helpdesk* desk, const std::string& directory, const DatasetOptions& options);
inline Result<void> LoadDataset(Helpdesk* desk, const std::string& directory, int max_tickets) {
  return LoadDataset(desk, directory, DatasetOptions{.max_tickets = max_tickets});
}

}  // namespace deskpipe::emulator
