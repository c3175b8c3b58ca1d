// The Zendesk emulator's change timeline: a JSON file (--timeline FILE) scripts what happens to the account
// between syncs, one step per POST /_emulator/timeline/next: ticket updates, new comments (with attachments),
// soft deletes, restores, scrubs (permanent deletes), system updates, user changes, article edits, new
// translations, unpublish/publish and article archiving. The format is in README.md ("Timeline").
//
// Pure functions over an Account the caller owns exclusively; thread-compatible.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "account.h"
#include "core/status.h"

namespace deskpipe::zendesk_emulator {

struct TimelineStep {
  std::string name;
  nlohmann::json spec;  // {"name", "advance_seconds", "actions"}
};

// {"steps":[…]} or a bare array; InvalidArgument names the step and action at fault (ops and field types are
// checked here, ids when applied).
Result<std::vector<TimelineStep>> ParseTimeline(const nlohmann::json& document);
Result<std::vector<TimelineStep>> LoadTimeline(const std::string& path);

// Applies one step to `account` (on error it may be partly changed: callers apply to a copy). Returns
// {"name","now","tickets_changed","ticket_ids","comments_added","articles_changed","users_changed"}.
Result<nlohmann::ordered_json> ApplyTimelineStep(Account* account, const TimelineStep& step);

}  // namespace deskpipe::zendesk_emulator
