// Text rows of a progress snapshot (ProgressTracker::Snapshot, progress.h) for a display: one per stream, then
// one for the run ("all"). A running stream's row reads
//   tickets [######..............] fetch 728 19/s · transform 728 19/s · store 728 19/s  728/2000  36% ETA 1:11  0:37
// and a stream that has ended is one short row ("tickets  1204 done  0:37").
//
// A row can be held to a width in display columns, so that on a terminal it never wraps (a wrapped row breaks
// redrawing in place). What goes first when it does not fit: the per-stage rates, then the per-stage counts,
// the ETA's basis, then the bar shrinks; the name, processed/total, %, ETA and elapsed time stay as long as
// anything can. Only then does the bar go, then the elapsed time, then the name is cut, then the row itself.
//
// Pure functions of their arguments: thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace deskpipe {

struct RowStyle {
  bool bars = false;        // a [####....] bar on running rows and the run's row (terminals)
  size_t max_columns = 0;   // 0: no limit; else no row is wider than this many display columns
  size_t name_width = 0;    // names are padded to this many columns so rows line up (see NameWidth)
  size_t bar_width = 20;    // the widest a bar is drawn (inside its brackets; at least 6)
};

// "1:05", "2:03:04": elapsed times and ETAs.
std::string FormatDuration(double seconds);

// Display columns of UTF-8 text, one per code point: the rows hold no wide or combining characters.
size_t DisplayColumns(std::string_view text);

// The first `columns` display columns of `text`, never splitting a UTF-8 sequence.
std::string CutToColumns(std::string_view text, size_t columns);

// The width the names of a snapshot's streams, and "all", line up in.
size_t NameWidth(const nlohmann::json& snapshot);

// The row of stream `name` (an entry of the snapshot's "streams"): the running row above, or the short row of
// a stream in any other state (done, skipped, stopped, failed).
std::string StreamRow(const std::string& name, const nlohmann::json& stream, const RowStyle& style);

// The run's row: "all", bar, processed/total items, failures, %, ETA, current stage, elapsed.
std::string RunRow(const nlohmann::json& snapshot, const RowStyle& style);

// The rows a terminal redraws in place: those of `streams` (names in the snapshot, running ones) and then the
// run's, their bars all as wide as the narrowest any of them needed to fit, so that they line up.
std::vector<std::string> LiveRows(const nlohmann::json& snapshot, const std::vector<std::string>& streams,
                                  RowStyle style);

// Every stream's row (in the snapshot's order, which is by name), then the run's row when there are streams.
// `style.name_width` is raised to NameWidth(snapshot).
std::vector<std::string> ProgressRows(const nlohmann::json& snapshot, RowStyle style);

}  // namespace deskpipe
