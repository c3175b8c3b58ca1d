// How the CLI shows a tenant's state and a run's result to a person: counts per type in words, the embedder
// and mode the tenant was synced with, the last run in words (when, how long, what changed, dead letters).
// Raw cursors only when asked for (--verbose); --json prints StatusJson, the machine form. Pure functions
// over values; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "app/app.h"
#include "pipeline/run_summary.h"

namespace deskpipe::cli {

// "1,234,567".
std::string GroupedCount(int64_t n);
// "ticket" → "tickets", "company" → "companies", "ticket_field" → "ticket fields".
std::string PluralTypeName(std::string type);
// "12 seconds ago", "4 minutes ago", "3 hours ago", "2 days ago": how long before `now` (Unix seconds).
std::string TimeAgo(int64_t then, int64_t now);

// Several lines, each ending in '\n'. `now` is the current Unix time (for "… ago").
std::string DescribeStatus(const std::string& tenant, const std::string& platform,
                           const app::TenantStatus& status, bool verbose, int64_t now);
nlohmann::json StatusJson(const std::string& tenant, const std::string& platform,
                          const app::TenantStatus& status);

// A finished run in one or two lines: "synced tenant demo in 12.3 s: …".
std::string DescribeRun(const std::string& tenant, const RunSummary& summary);

// A search hit's snippet (HTML-escaped, matched words in <mark>…</mark>) as plain text for a person: the
// entities decoded, matched words in bold on a terminal (`terminal`), else between asterisks.
std::string SnippetForPeople(const std::string& marked, bool terminal);

}  // namespace deskpipe::cli
