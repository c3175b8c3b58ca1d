#include "cli/status_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "core/time.h"
#include "pipeline/progress_rows.h"

namespace deskpipe::cli {
namespace {

// "1 company", "2 companies", "12 ticket fields".
std::string Counted(int64_t n, std::string type) {
  for (char& c : type) c = c == '_' ? ' ' : c;
  return GroupedCount(n) + " " + (n == 1 ? type : PluralTypeName(type));
}

// "200 tickets, 30 articles"; "none" for an empty map.
std::string CountsInWords(const std::map<std::string, int64_t>& by_type) {
  std::vector<std::pair<int64_t, std::string>> counts;
  for (const auto& [type, n] : by_type) counts.emplace_back(n, type);
  if (counts.empty()) return "none";
  // Biggest first: what a helpdesk mostly holds leads.
  std::stable_sort(counts.begin(), counts.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string text;
  for (const auto& [n, type] : counts) {
    text += (text.empty() ? "" : ", ") + Counted(n, type);
  }
  return text;
}

int64_t SummaryInt(const nlohmann::json& summary, const char* key) {
  auto it = summary.find(key);
  return it != summary.end() && it->is_number() ? it->get<int64_t>() : 0;
}

// "230 documents written, 0 unchanged, 1,234 chunks embedded (12 from cache), 3 attachments read, no dead
// letters", from a run summary's JSON.
std::string ChangesInWords(const nlohmann::json& summary) {
  std::string text = Counted(SummaryInt(summary, "documents_written"), "document") + " written, " +
                     GroupedCount(SummaryInt(summary, "documents_unchanged")) + " unchanged, " +
                     Counted(SummaryInt(summary, "chunks_embedded"), "chunk") + " embedded";
  if (const int64_t cached = SummaryInt(summary, "chunks_cached"); cached > 0) {
    text += " (" + GroupedCount(cached) + " from cache)";
  }
  if (const int64_t read = SummaryInt(summary, "attachments_extracted"); read > 0) {
    text += ", " + Counted(read, "attachment") + " read";
  }
  const int64_t dead = SummaryInt(summary, "dead_letters");
  text += dead == 0 ? ", no dead letters" : ", " + Counted(dead, "dead letter");
  return text;
}

std::string ModeInWords(const TenantProfile& profile) {
  return profile.writes_records ? "hybrid (SQL records and vectors)" : "vector-only (minimal SQL)";
}

// The command that lists and retries a tenant's dead letters.
std::string DeadLetterHint(const std::string& tenant) {
  return fmt::format(
      "list them: deskpipe retry-failed --tenant {0} --list; retry them: deskpipe retry-failed "
      "--tenant {0}",
      tenant);
}

std::string LastRunInWords(const std::string& tenant, const nlohmann::json& run, int64_t now) {
  const std::string state = run.value("state", "unknown");
  std::string line = fmt::format("#{} {}", run.value("id", int64_t{0}), state);
  const std::string started = run.value("started_at", ""), finished = run.value("finished_at", "");
  const auto start = ParseTimestamp(started);
  const auto end = ParseTimestamp(finished);
  if (end) {
    line += " " + TimeAgo(*end, now) + " (" + finished + ")";
  } else if (start) {
    line += ", started " + TimeAgo(*start, now) + " (" + started + ")";
  }
  const nlohmann::json summary = run.value("summary", nlohmann::json::object());
  if (auto seconds = summary.find("seconds"); seconds != summary.end() && seconds->is_number()) {
    line += ", took " + FormatDuration(seconds->get<double>());
  } else if (start && end) {
    line += ", took " + FormatDuration(static_cast<double>(*end - *start));
  }
  line += "\n            " + ChangesInWords(summary);
  if (auto error = summary.find("error"); error != summary.end() && error->is_string()) {
    line += "\n            error: " + error->get<std::string>();
  }
  if (SummaryInt(summary, "dead_letters") > 0) {
    line += "\n            " + DeadLetterHint(tenant);
  }
  return line;
}

}  // namespace

std::string GroupedCount(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<size_t>(i), ",");
  return n < 0 ? "-" + digits : digits;
}

std::string PluralTypeName(std::string type) {
  for (char& c : type) c = c == '_' ? ' ' : c;
  if (type.empty()) return type;
  const char last = type.back();
  const char before = type.size() > 1 ? type[type.size() - 2] : 'a';
  const bool vowel_before = std::string_view("aeiou").find(before) != std::string_view::npos;
  if (last == 'y' && !vowel_before) return type.substr(0, type.size() - 1) + "ies";
  if (last == 's' || last == 'x' || type.ends_with("ch") || type.ends_with("sh")) return type + "es";
  return type + "s";
}

std::string TimeAgo(int64_t then, int64_t now) {
  const int64_t s = std::max<int64_t>(0, now - then);
  auto ago = [](int64_t n, const char* unit) {
    return fmt::format("{} {}{} ago", n, unit, n == 1 ? "" : "s");
  };
  if (s < 60) return ago(s, "second");
  if (s < 3600) return ago(s / 60, "minute");
  if (s < 86400) return ago(s / 3600, "hour");
  return ago(s / 86400, "day");
}

std::string DescribeStatus(const std::string& tenant, const std::string& platform,
                           const app::TenantStatus& status, bool verbose, int64_t now) {
  const StoreStats& stats = status.stats;
  std::string out = fmt::format("tenant {} ({})\n", tenant, platform);
  out += "embedder    " + status.profile.DescribeEmbedder() + "\n";
  out += "mode        " + ModeInWords(status.profile) + "\n";
  out += "searchable  " + CountsInWords(stats.documents_by_type) +
         fmt::format(" ({} chunks, {} vectors)\n", GroupedCount(stats.chunks), GroupedCount(stats.vectors));
  if (status.profile.writes_records) out += "records     " + CountsInWords(stats.records_by_type) + "\n";
  out += "last run    " +
         (stats.last_run.is_object() ? LastRunInWords(tenant, stats.last_run, now) : "none yet") + "\n";
  if (verbose) {
    for (const auto& [stream, cursor] : stats.cursors)
      out += "cursor " + stream + ": " + cursor.dump() + "\n";
  }
  return out;
}

nlohmann::json StatusJson(const std::string& tenant, const std::string& platform,
                          const app::TenantStatus& status) {
  const StoreStats& stats = status.stats;
  nlohmann::json cursors = nlohmann::json::object();
  for (const auto& [stream, cursor] : stats.cursors) cursors[stream] = cursor;
  return {{"tenant", tenant},
          {"platform", platform},
          {"embedder", status.profile.ToJson()},
          {"mode", status.profile.writes_records ? "hybrid" : "vector_only"},
          {"records", stats.records_by_type},
          {"documents", stats.documents_by_type},
          {"chunks", stats.chunks},
          {"vectors", stats.vectors},
          {"cursors", cursors},
          {"last_run", stats.last_run}};
}

std::string DescribeRun(const std::string& tenant, const RunSummary& summary) {
  std::string out = fmt::format("{} tenant {} in {}: {}\n", summary.stopped ? "stopped" : "synced", tenant,
                                FormatDuration(summary.seconds), ChangesInWords(summary.ToJson()));
  if (summary.stopped) out += "  cursors saved: run the same command again to resume\n";
  for (const auto& [stream, s] : summary.streams) {
    if (s.skipped) out += "  stream " + stream + " skipped: " + s.skip_reason + "\n";
  }
  if (summary.dead_letters > 0) {
    out += "  " + DeadLetterHint(tenant) + "\n";
  }
  return out;
}

std::string SnippetForPeople(const std::string& marked, bool terminal) {
  static const std::pair<const char*, const char*> kReplacements[] = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}};
  std::string out;
  for (size_t i = 0; i < marked.size();) {
    if (marked.compare(i, 6, "<mark>") == 0) {
      out += terminal ? "\x1b[1m" : "*";
      i += 6;
      continue;
    }
    if (marked.compare(i, 7, "</mark>") == 0) {
      out += terminal ? "\x1b[0m" : "*";
      i += 7;
      continue;
    }
    bool replaced = false;
    for (const auto& [entity, text] : kReplacements) {
      const size_t length = std::char_traits<char>::length(entity);
      if (marked.compare(i, length, entity) == 0) {
        out += text;
        i += length;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += marked[i++];
  }
  return out;
}

}  // namespace deskpipe::cli
