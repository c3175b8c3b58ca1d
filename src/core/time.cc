#include "core/time.h"

#include <chrono>
#include <cstdio>

namespace deskpipe {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at text[pos…]; advances pos.
bool ReadDigits(std::string_view text, size_t& pos, int n, int& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

Status Bad(std::string_view text, std::string_view why) {
  return InvalidArgument("invalid timestamp '" + std::string(text) + "': " + std::string(why));
}

}  // namespace

Result<int64_t> ParseTimestamp(std::string_view text) {
  size_t pos = 0;
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, pos, 4, year) || pos >= text.size() || text[pos++] != '-' ||
      !ReadDigits(text, pos, 2, month) || pos >= text.size() || text[pos++] != '-' ||
      !ReadDigits(text, pos, 2, day)) {
    return Error(Bad(text, "expected YYYY-MM-DD"));
  }
  if (month < 1 || month > 12 || day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) {
    return Error(Bad(text, "no such date"));
  }
  int64_t offset_seconds = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return Error(Bad(text, "expected 'T'"));
    ++pos;
    if (!ReadDigits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
        !ReadDigits(text, pos, 2, minute)) {
      return Error(Bad(text, "expected HH:MM"));
    }
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!ReadDigits(text, pos, 2, second)) return Error(Bad(text, "expected seconds"));
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos, ++digits;
        if (digits == 0) return Error(Bad(text, "expected fraction digits"));
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return Error(Bad(text, "time out of range"));
    if (pos < text.size()) {
      char zone = text[pos];
      if (zone == 'Z' || zone == 'z') {
        ++pos;
      } else if (zone == '+' || zone == '-') {
        ++pos;
        int oh, om = 0;
        if (!ReadDigits(text, pos, 2, oh)) return Error(Bad(text, "expected offset hours"));
        // Minutes are optional ("+05"), but a ':' must be followed by them ("+05:" is an error).
        const bool colon = pos < text.size() && text[pos] == ':';
        if (colon) ++pos;
        if ((colon || pos < text.size()) && !ReadDigits(text, pos, 2, om)) {
          return Error(Bad(text, "expected offset minutes"));
        }
        if (oh > 23 || om > 59) return Error(Bad(text, "offset out of range"));
        offset_seconds = (zone == '+' ? 1 : -1) * (oh * 3600 + om * 60);
      } else {
        return Error(Bad(text, "unexpected character after the time"));
      }
    }
    if (pos != text.size()) return Error(Bad(text, "trailing characters"));
  }
  int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  return seconds - offset_seconds;
}

std::string FormatTimestamp(int64_t unix_seconds) {
  int64_t days = unix_seconds >= 0 ? unix_seconds / 86400 : (unix_seconds - 86399) / 86400;
  int64_t rem = unix_seconds - days * 86400;
  // civil_from_days
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[64];  // room for any int64 year, so -Wformat-truncation stays quiet
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem % 3600 / 60),
                static_cast<long long>(rem % 60));
  return buf;
}

Result<std::string> NormalizeTimestamp(std::string_view text) {
  ASSIGN_OR_RETURN(int64_t seconds, ParseTimestamp(text));
  return FormatTimestamp(seconds);
}

int64_t NowUnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace deskpipe
