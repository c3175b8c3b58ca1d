// ISO-8601 timestamps ↔ Unix seconds (UTC). Freshdesk documents UTC "Z" times but some payloads carry
// offsets; everything deskpipe stores is UTC "YYYY-MM-DDTHH:MM:SSZ". Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace deskpipe {

// Accepts YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±hh[:mm]|±hhmm] (no zone ⇒ UTC); fractions are dropped.
// InvalidArgument quoting the text otherwise.
Result<int64_t> ParseTimestamp(std::string_view text);

// "YYYY-MM-DDTHH:MM:SSZ"
std::string FormatTimestamp(int64_t unix_seconds);

// ParseTimestamp then FormatTimestamp.
Result<std::string> NormalizeTimestamp(std::string_view text);

int64_t NowUnixSeconds();

}  // namespace deskpipe
