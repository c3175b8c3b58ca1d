#include "transforms/message_cleaning.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace deskpipe::transforms {
namespace {

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (eol == text.size()) break;
    pos = eol + 1;
  }
  return lines;
}

std::string JoinLines(const std::vector<std::string_view>& lines, size_t end) {
  std::string out;
  for (size_t i = 0; i < end && i < lines.size(); ++i) {
    out.append(lines[i]);
    out.push_back('\n');
  }
  return std::string(Trim(out));
}

bool IsQuoteLine(std::string_view line) { return StartsWith(Trim(line), ">"); }

// "On Tue, 3 Mar 2025 at 09:41, Ann <ann@x.com> wrote:" and its translations. `next` is the following line,
// for attributions that Gmail wraps after the address. Returns the number of lines the attribution takes (0:
// none).
int AttributionLines(std::string_view line, std::string_view next) {
  const std::string lower = Lower(Trim(line));
  auto ends_attribution = [](const std::string& s) {
    return EndsWith(s, "wrote:") || EndsWith(s, "a écrit :") || EndsWith(s, "a écrit:") ||
           EndsWith(s, "schrieb:") || EndsWith(s, "escribió:") || EndsWith(s, "wrote :");
  };
  const bool opener = StartsWith(lower, "on ") || StartsWith(lower, "le ") || StartsWith(lower, "am ") ||
                      StartsWith(lower, "el ");
  if (ends_attribution(lower)) {
    // "<name> wrote:" alone must look like an attribution, not prose ending in "wrote:".
    return opener || lower.size() <= 80 ? 1 : 0;
  }
  if (opener && lower.size() <= 200) {
    const std::string next_lower = Lower(Trim(next));
    if (ends_attribution(next_lower) && next_lower.size() <= 120) return 2;
  }
  return 0;
}

bool IsOutlookHeaderStart(const std::vector<std::string_view>& lines, size_t i) {
  const std::string line = Lower(Trim(lines[i]));
  if (line.find("-----original message-----") != std::string::npos) return true;
  if (line.find("----- original message -----") != std::string::npos) return true;
  size_t j = i;
  const bool rule = line.size() >= 10 && line.find_first_not_of("_-") == std::string::npos;
  if (rule) {
    ++j;
    while (j < lines.size() && Trim(lines[j]).empty()) ++j;
    if (j >= lines.size()) return false;
  }
  const std::string from = Lower(Trim(lines[j]));
  if (!StartsWith(from, "from:") && !StartsWith(from, "de :") && !StartsWith(from, "von:")) return false;
  if (rule) return true;  // Outlook's rule then From: is enough
  // A bare "From:" line must be followed within three lines by Sent:/Date:/To:/Subject:.
  for (size_t k = j + 1; k < lines.size() && k <= j + 3; ++k) {
    const std::string h = Lower(Trim(lines[k]));
    if (StartsWith(h, "sent:") || StartsWith(h, "date:") || StartsWith(h, "to:") ||
        StartsWith(h, "subject:") || StartsWith(h, "envoyé :") || StartsWith(h, "gesendet:")) {
      return true;
    }
  }
  return false;
}

bool IsForwardMarker(std::string_view line) {
  const std::string lower = Lower(Trim(line));
  return lower.find("forwarded message") != std::string::npos || lower == "begin forwarded message:" ||
         StartsWith(lower, "-----forwarded") || StartsWith(lower, "fwd:");
}

bool IsValediction(std::string_view line) {
  std::string lower = Lower(Trim(line));
  while (!lower.empty() &&
         (lower.back() == ',' || lower.back() == '!' || lower.back() == '.' || lower.back() == '-')) {
    lower.pop_back();
  }
  static constexpr std::array<std::string_view, 26> kValedictions = {"thanks",
                                                                     "thank you",
                                                                     "thanks again",
                                                                     "many thanks",
                                                                     "thanks so much",
                                                                     "thank you so much",
                                                                     "best",
                                                                     "best regards",
                                                                     "kind regards",
                                                                     "regards",
                                                                     "warm regards",
                                                                     "warmest regards",
                                                                     "cheers",
                                                                     "sincerely",
                                                                     "yours sincerely",
                                                                     "yours truly",
                                                                     "br",
                                                                     "thx",
                                                                     "best wishes",
                                                                     "all the best",
                                                                     "with thanks",
                                                                     "kindest regards",
                                                                     "respectfully",
                                                                     "many thanks in advance",
                                                                     "thanks in advance",
                                                                     "greetings"};
  return std::find(kValedictions.begin(), kValedictions.end(), lower) != kValedictions.end();
}

bool IsMobileFooter(std::string_view line) {
  const std::string lower = Lower(Trim(line));
  return StartsWith(lower, "sent from my ") || StartsWith(lower, "get outlook for ") ||
         StartsWith(lower, "sent from mail for windows") || StartsWith(lower, "sent from yahoo mail") ||
         StartsWith(lower, "sent via ");
}

bool IsSigil(char c) { return c == '^' || c == '*' || c == '~' || c == '_' || c == '-'; }

// An agent's name or initials as signed at the end of a social-media reply: "SR", "Kartika", "NKush".
bool IsSignoffName(std::string_view s) {
  if (s.empty() || s.size() > 12 || !(s[0] >= 'A' && s[0] <= 'Z')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
}

// Removes a trailing social-media sign-off: " ^JK", " *SR", " -Shie 3/3", " ~ Olivia", "Thanks.^Kartika".
void StripSocialSignoff(std::string& out) {
  std::string_view text = Trim(out);
  auto last_token = [](std::string_view s) {
    const size_t space = s.find_last_of(" \t\n");
    return space == std::string_view::npos ? s : s.substr(space + 1);
  };
  std::string_view token = last_token(text);
  // A thread counter "2/3" after the name.
  if (!token.empty() && token.find('/') != std::string_view::npos &&
      std::all_of(token.begin(), token.end(), [](char c) { return (c >= '0' && c <= '9') || c == '/'; })) {
    std::string_view before = Trim(text.substr(0, text.size() - token.size()));
    std::string_view name_token = last_token(before);
    if (name_token.size() >= 2 && IsSigil(name_token[0]) && IsSignoffName(name_token.substr(1))) {
      text = before;
      token = name_token;
    }
  }
  size_t cut = std::string_view::npos;
  if (token.size() >= 2 && IsSigil(token[0]) && IsSignoffName(token.substr(1))) {
    cut = text.size() - token.size();
  } else if (IsSignoffName(token)) {
    std::string_view before = Trim(text.substr(0, text.size() - token.size()));
    if (!before.empty() && IsSigil(before.back()) &&
        (before.size() == 1 || before[before.size() - 2] == ' ')) {
      cut = before.size() - 1;  // "~ Olivia"
    }
  } else if (const size_t caret = token.rfind('^'); caret != std::string_view::npos && caret > 0 &&
                                                    (token[caret - 1] == '.' || token[caret - 1] == '!') &&
                                                    IsSignoffName(token.substr(caret + 1))) {
    cut = text.size() - token.size() + caret;  // "Thanks.^Kartika"
  }
  if (cut == std::string_view::npos) return;
  std::string_view kept = Trim(text.substr(0, cut));
  if (kept.empty()) return;
  out = std::string(kept);
}

}  // namespace

std::string StripQuotedText(std::string_view text) {
  std::vector<std::string_view> lines = SplitLines(text);
  bool forwarded = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (IsForwardMarker(lines[i])) {
      forwarded = true;  // below a forward, headers and quotes are the forwarded content
      break;
    }
    const int attribution =
        AttributionLines(lines[i], i + 1 < lines.size() ? lines[i + 1] : std::string_view());
    const bool outlook = attribution == 0 && IsOutlookHeaderStart(lines, i);
    if (attribution == 0 && !outlook) continue;
    // Is there unquoted text after the quoted block (interleaved answers)? Only for '>'-style quotes.
    size_t after = i + static_cast<size_t>(attribution);
    bool interleaved = false;
    if (attribution > 0) {
      bool seen_quote = false;
      for (size_t k = after; k < lines.size(); ++k) {
        if (IsQuoteLine(lines[k])) {
          seen_quote = true;
        } else if (seen_quote && !Trim(lines[k]).empty()) {
          interleaved = true;
          break;
        }
      }
    }
    if (!interleaved) return JoinLines(lines, i);
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i),
                lines.begin() + static_cast<std::ptrdiff_t>(i) + attribution);
    --i;
  }
  if (forwarded) return std::string(Trim(text));
  std::string out;
  for (std::string_view line : lines) {
    if (IsQuoteLine(line)) continue;
    out.append(line);
    out.push_back('\n');
  }
  return std::string(Trim(out));
}

std::string StripSignature(std::string_view text) {
  std::vector<std::string_view> lines = SplitLines(Trim(text));
  size_t end = lines.size();
  auto has_content_before = [&](size_t i) {
    for (size_t k = 0; k < i; ++k) {
      if (!Trim(lines[k]).empty()) return true;
    }
    return false;
  };
  // "-- " separator.
  for (size_t i = 0; i < end; ++i) {
    if ((lines[i] == "-- " || lines[i] == "--") && has_content_before(i)) {
      end = i;
      break;
    }
  }
  // Mobile footers anywhere at the end.
  while (end > 0 && (Trim(lines[end - 1]).empty() || IsMobileFooter(lines[end - 1]))) {
    if (!has_content_before(end - 1)) break;
    --end;
  }
  // Valediction + short tail.
  int short_lines = 0;
  for (size_t i = end; i > 0; --i) {
    std::string_view line = Trim(lines[i - 1]);
    if (line.empty()) continue;
    if (IsValediction(line)) {
      if (has_content_before(i - 1)) end = i - 1;
      break;
    }
    if (line.size() > 60 || ++short_lines > 6) break;
    // Sentences are not signature lines.
    if (line.back() == '?' || (line.back() == '.' && line.size() > 30)) break;
  }
  std::string out = JoinLines(lines, end);
  StripSocialSignoff(out);
  if (Trim(out).empty()) return std::string(Trim(text));
  return out;
}

std::string CleanMessageText(std::string_view text) { return StripSignature(StripQuotedText(text)); }

bool SameTextIgnoringWhitespace(std::string_view a, std::string_view b) {
  a = Trim(a);
  b = Trim(b);
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (IsSpace(a[i]) && IsSpace(b[j])) {
      while (i < a.size() && IsSpace(a[i])) ++i;
      while (j < b.size() && IsSpace(b[j])) ++j;
      continue;
    }
    if (a[i] != b[j]) return false;
    ++i;
    ++j;
  }
  return i == a.size() && j == b.size();
}

}  // namespace deskpipe::transforms
