// Removes from one message of a thread (already plain text, see HtmlToText) what would make retrieval find
// the same words twice or find boilerplate: quoted history and signatures. The raw message is untouched
// elsewhere (records keep it; hybrid mode stores it in SQL) — this only shapes what is indexed.
//
// Quoted history (HtmlToText already drops Freshdesk's and Gmail's quote elements; these are the plain-text
// forms that survive, or arrive through text-only mail):
//   - a Gmail/Apple-style attribution "On <date>, <name> <email> wrote:" (possibly wrapped over two lines),
//     also "<name> wrote:" and "Le … a écrit :" / "Am … schrieb …:",
//   - Outlook's "-----Original Message-----" and a "From: … / Sent: …" (or "Date:") header block, optionally
//     after a "________________________________" rule,
//   - lines starting with '>'.
//   When the new text is above the quote (top posting) everything from the marker on goes. When answers are
//   interleaved with '>' lines, only the '>' lines and their attribution go. Forwarded messages
//   ("---------- Forwarded message ---------", "Begin forwarded message:") are kept: they are the content.
// Signatures:
//   - everything after an RFC 3676 "-- " separator line,
//   - "Sent from my iPhone"-style lines,
//   - a closing block: a valediction line ("Thanks,", "Best regards", "Cheers", …) followed by at most six
//     short lines (name, title, company, contact) up to the end,
//   - the name or initials a social-media agent signs with at the very end (" ^JK", " *SR", " -Shie 3/3",
//     " ~ Olivia"); a last word such as " -Werror" is taken for one too — rare in support mail.
// Whatever is removed, a message is never emptied by signature rules alone: when nothing but a sign-off
// would remain, the text is kept as it was. Quote rules may empty a message that is only a quote.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace deskpipe::transforms {

// Quote markers and the quoted text below them; interleaved '>' lines.
std::string StripQuotedText(std::string_view text);

// Signature blocks and sign-offs at the end of a message.
std::string StripSignature(std::string_view text);

// StripQuotedText then StripSignature, trimmed.
std::string CleanMessageText(std::string_view text);

// Whitespace-insensitive equality (runs of whitespace compare equal to one space; ends trimmed).
bool SameTextIgnoringWhitespace(std::string_view a, std::string_view b);

}  // namespace deskpipe::transforms
