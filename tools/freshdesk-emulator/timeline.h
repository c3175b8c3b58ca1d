// The emulator's change timeline: a JSON file (--timeline FILE) scripts what happens to the helpdesk between
// syncs, one step per POST /_emulator/timeline/next. A step advances the helpdesk clock and applies its
// actions (ticket updates, new conversations, edited notes, bulk edits stamping thousands of tickets with one
// updated_at second, trash/spam/restore/hard delete/archive, KB edits/unpublish/delete, contact deletes).
// The format is documented in README.md ("Timeline").
//
// Pure functions over a Helpdesk the caller owns exclusively; thread-compatible.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "helpdesk.h"

namespace deskpipe::emulator {

struct TimelineStep {
  std::string name;
  nlohmann::json spec;  // the step object as written ({"name", "advance_seconds", "actions"})
};

// Parses a timeline document: {"steps":[step,…]} or a bare [step,…]. InvalidArgument naming the step and
// action at fault; every action is validated structurally here (ids are checked when applied).
Result<std::vector<TimelineStep>> ParseTimeline(const nlohmann::json& document);
// Reads and parses FILE; InvalidArgument/NotFound name the file.
Result<std::vector<TimelineStep>> LoadTimeline(const std::string& path);

// Applies one step to `desk` (all or nothing: on error `desk` may be partly changed, so callers apply to a
// copy and discard it on error). Returns a summary:
//   {"name","now","tickets_changed","ticket_ids"(≤100 listed),"conversations_added","conversations_edited",
//    "articles_changed","contacts_changed"}.
Result<nlohmann::ordered_json> ApplyTimelineStep(Helpdesk* desk, const TimelineStep& step);

}  // namespace deskpipe::emulator
