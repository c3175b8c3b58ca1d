// HTML → readable plain text for chunking and keyword search, and UTF-8 validation/repair.
//
// HtmlToText parses with gumbo (a full HTML5 parser: it tolerates any tag soup a browser would; never regular
// expressions) and renders the tree as text:
//   - <p>, <div>, <br>, <li>, <tr>, … become line breaks; <p>, headings, <table>, <pre>, <blockquote>, <hr>
//     end a paragraph (one blank line). Never more than one blank line in a row; no leading/trailing blank
//     lines, no trailing spaces on a line.
//   - Headings <h1>…<h6> stand on their own line, Markdown style: "# Title", "## Section", … (BuildDocuments
//     splits articles into sections at these lines).
//   - <ul> items start "- ", <ol> items "1. ", "2. ", … (honouring <ol start> and <li value>); nested lists
//   are
//     indented two spaces per level.
//   - Tables render row by row, one line per <tr>, cells separated by " | ".
//   - Links render "text (url)" when the href differs from the text (ignoring a mailto:/tel: scheme and an
//     http(s):// scheme or trailing '/'); in-page (#…) and javascript: links and links without text add
//     nothing. Images are dropped.
//   - <pre> and <code> text is kept verbatim (whitespace and line breaks preserved).
//   - Character references are decoded (&amp; → &, &#8217; → ’); U+00A0 (&nbsp;) is treated as a space.
//   - Other whitespace is collapsed to one space.
//   - <head>, <script>, <style>, <noscript>, <template>, <svg>, <math>, <iframe>, <object>, <embed>,
//   <select>,
//     <textarea>, <audio>, <video>, <canvas>, <map> and comments are dropped.
//   - Quoted email history is removed: any element whose class list holds "freshdesk_quote" (Freshdesk wraps
//     the previous thread in div.freshdesk_quote > blockquote.freshdesk_quote) or "gmail_quote" /
//     "gmail_quote_container" (Gmail's equivalent), with everything inside it, and <blockquote type="cite">
//     (Apple Mail, Thunderbird). Plain-text quoting is handled per message by CleanMessageText.
// Invalid UTF-8 in the input is repaired first (each invalid byte becomes U+FFFD, see RepairUtf8), so the
// output is always valid UTF-8. Input without markup ('<', '&' or NUL) skips the parser and only has its
// whitespace collapsed.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace deskpipe::transforms {

// InvalidArgument only for input gumbo cannot handle at all: larger than 2 GiB, nested more than about 2000
// elements deep (gumbo's time grows with the square of the depth, so such input is refused up front), or the
// parser failed (out of memory). Parsing takes roughly 20× the input size in memory while it runs.
Result<std::string> HtmlToText(std::string_view html);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// Returns `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD (one
// replacement per bad byte: a truncated 3-byte sequence "E2 82" becomes two U+FFFD). Valid text is returned
// unchanged.
std::string RepairUtf8(std::string_view text);

}  // namespace deskpipe::transforms
