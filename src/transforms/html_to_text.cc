#include "transforms/html_to_text.h"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

namespace deskpipe::transforms {
namespace {

// ---------------------------------------------------------------------------------------------------------
// UTF-8

// Length of the well-formed UTF-8 sequence starting at p[0], or 0 when p[0] does not start one.
inline size_t SequenceLength(const unsigned char* p, size_t remaining) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < remaining && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// Index of the first byte of `text` at or after `from` that is not ASCII.
inline size_t SkipAscii(std::string_view text, size_t from) {
  const char* data = text.data();
  size_t i = from;
  const size_t n = text.size();
  while (i + 8 <= n) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    if (word & 0x8080808080808080ULL) break;
    i += 8;
  }
  while (i < n && static_cast<unsigned char>(data[i]) < 0x80) ++i;
  return i;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// ---------------------------------------------------------------------------------------------------------
// Text writer: accumulates output, deferring whitespace and line breaks until the next visible text so that
// runs collapse and nothing dangles at the ends.

inline bool IsAsciiSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

class TextWriter {
 public:
  explicit TextWriter(size_t reserve) { out_.reserve(reserve); }

  // Text whose whitespace collapses (ASCII whitespace and U+00A0).
  void Text(std::string_view s) {
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (IsAsciiSpace(c)) {
        pending_space_ = true;
        ++i;
        continue;
      }
      if (c == 0xC2 && i + 1 < n && static_cast<unsigned char>(s[i + 1]) == 0xA0) {
        pending_space_ = true;
        i += 2;
        continue;
      }
      size_t j = i + 1;
      while (j < n) {
        const auto d = static_cast<unsigned char>(s[j]);
        if (IsAsciiSpace(d) || (d == 0xC2 && j + 1 < n && static_cast<unsigned char>(s[j + 1]) == 0xA0))
          break;
        ++j;
      }
      Flush();
      out_.append(s.data() + i, j - i);
      i = j;
    }
  }

  // Text kept as is (<pre>, <code>).
  void Verbatim(std::string_view s) {
    if (s.empty()) return;
    Flush();
    out_.append(s);
  }

  // Structural text (table separators) written at the current position after pending breaks.
  void Raw(std::string_view s) {
    Flush();
    out_.append(s);
  }

  // Appends directly after what was written, leaving pending whitespace for what follows (link urls).
  void Append(std::string_view s) { out_.append(s); }

  // Requests a line break (1) or a paragraph break (2) before the next text; in a table cell, a space.
  void Break(int newlines) {
    if (cell_depth_ > 0) {
      pending_space_ = true;
      return;
    }
    pending_newlines_ = std::max(pending_newlines_, newlines);
  }

  // <br>: each one adds a line break, up to one blank line.
  void LineBreak() {
    if (cell_depth_ > 0) {
      pending_space_ = true;
      return;
    }
    if (out_.empty()) return;
    pending_newlines_ = std::min(2, pending_newlines_ + 1);
  }

  // A marker ("- ", "2. ", "## ") written at the start of the next text.
  void SetPrefix(std::string prefix) { prefix_ = std::move(prefix); }

  void EnterCell() { ++cell_depth_; }
  void ExitCell() {
    if (cell_depth_ > 0) --cell_depth_;
  }

  // Writes pending breaks; true when the output is at the start of a line afterwards.
  bool AtLineStart() {
    Flush();
    return out_.empty() || out_.back() == '\n';
  }

  const std::string& out() const { return out_; }

  std::string Finish() {
    // A NUL is never text (the HTML parser passes one through inside unknown elements) and breaks C-string
    // consumers downstream (FTS tokenizers, libpq). Removing it, or an absurd character reference decoded by
    // the parser, can leave a broken UTF-8 sequence: the output is repaired so it is always valid (both found
    // by the fuzzer).
    out_.erase(std::remove(out_.begin(), out_.end(), '\0'), out_.end());
    if (!IsValidUtf8(out_)) out_ = RepairUtf8(out_);
    size_t end = out_.size();
    while (end > 0 && IsAsciiSpace(static_cast<unsigned char>(out_[end - 1]))) --end;
    out_.resize(end);
    return std::move(out_);
  }

 private:
  void Flush() {
    if (out_.empty()) {
      pending_newlines_ = 0;
      pending_space_ = false;
    } else if (pending_newlines_ > 0) {
      size_t end = out_.size();
      while (end > 0 && (out_[end - 1] == ' ' || out_[end - 1] == '\t')) --end;
      out_.resize(end);
      int have = 0;
      for (size_t k = out_.size(); k > 0 && have < 2 && out_[k - 1] == '\n'; --k) ++have;
      for (int k = have; k < pending_newlines_; ++k) out_.push_back('\n');
    } else if (pending_space_ && !IsAsciiSpace(static_cast<unsigned char>(out_.back()))) {
      out_.push_back(' ');
    }
    pending_newlines_ = 0;
    pending_space_ = false;
    if (!prefix_.empty()) {
      if (!out_.empty() && out_.back() != '\n' && out_.back() != ' ') out_.push_back(' ');
      out_.append(prefix_);
      prefix_.clear();
    }
  }

  std::string out_;
  std::string prefix_;
  int pending_newlines_ = 0;
  bool pending_space_ = false;
  int cell_depth_ = 0;
};

// ---------------------------------------------------------------------------------------------------------
// Tree walk

// Apple Mail and Thunderbird quote the previous message in <blockquote type="cite">.
bool IsCitedReply(const GumboElement& element) {
  if (element.tag != GUMBO_TAG_BLOCKQUOTE) return false;
  const GumboAttribute* type = gumbo_get_attribute(&element.attributes, "type");
  return type != nullptr && std::string_view(type->value) == "cite";
}

bool HasClassToken(const GumboElement& element) {
  const GumboAttribute* attr = gumbo_get_attribute(&element.attributes, "class");
  if (attr == nullptr) return false;
  std::string_view classes(attr->value);
  size_t i = 0;
  while (i < classes.size()) {
    while (i < classes.size() && IsAsciiSpace(static_cast<unsigned char>(classes[i]))) ++i;
    size_t j = i;
    while (j < classes.size() && !IsAsciiSpace(static_cast<unsigned char>(classes[j]))) ++j;
    const std::string_view token = classes.substr(i, j - i);
    if (token == "freshdesk_quote" || token == "gmail_quote" || token == "gmail_quote_container") return true;
    i = j;
  }
  return false;
}

bool IsDropped(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_TITLE:
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_MATH:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_AUDIO:
    case GUMBO_TAG_VIDEO:
    case GUMBO_TAG_MAP:
    case GUMBO_TAG_BASE:
    case GUMBO_TAG_LINK:
    case GUMBO_TAG_META:
    case GUMBO_TAG_IMG:
    case GUMBO_TAG_IMAGE:
      return true;
    default:
      return false;
  }
}

// Line breaks an element puts before and after itself: 0 inline, 1 line, 2 paragraph.
int BlockBreaks(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P:
    case GUMBO_TAG_H1:
    case GUMBO_TAG_H2:
    case GUMBO_TAG_H3:
    case GUMBO_TAG_H4:
    case GUMBO_TAG_H5:
    case GUMBO_TAG_H6:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_LISTING:
    case GUMBO_TAG_XMP:
    case GUMBO_TAG_PLAINTEXT:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_HR:
      return 2;
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_HGROUP:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_FIELDSET:
    case GUMBO_TAG_LEGEND:
    case GUMBO_TAG_DETAILS:
    case GUMBO_TAG_SUMMARY:
    case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_CENTER:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_DIR:
    case GUMBO_TAG_MENU:
    case GUMBO_TAG_LI:
    case GUMBO_TAG_TR:
    case GUMBO_TAG_BODY:
      return 1;
    default:
      return 0;
  }
}

bool IsVerbatim(GumboTag tag) {
  return tag == GUMBO_TAG_PRE || tag == GUMBO_TAG_CODE || tag == GUMBO_TAG_LISTING || tag == GUMBO_TAG_XMP ||
         tag == GUMBO_TAG_PLAINTEXT;
}

int HeadingLevel(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_H1:
      return 1;
    case GUMBO_TAG_H2:
      return 2;
    case GUMBO_TAG_H3:
      return 3;
    case GUMBO_TAG_H4:
      return 4;
    case GUMBO_TAG_H5:
      return 5;
    case GUMBO_TAG_H6:
      return 6;
    default:
      return 0;
  }
}

int IntAttribute(const GumboElement& element, const char* name, int fallback) {
  const GumboAttribute* attr = gumbo_get_attribute(&element.attributes, name);
  if (attr == nullptr) return fallback;
  std::string_view value(attr->value);
  while (!value.empty() && IsAsciiSpace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
  int parsed = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  (void)ptr;
  return ec == std::errc() ? parsed : fallback;
}

std::string_view StripForCompare(std::string_view s) {
  for (std::string_view scheme : {"mailto:", "tel:", "https://", "http://"}) {
    if (s.size() >= scheme.size() && std::equal(scheme.begin(), scheme.end(), s.begin(), [](char a, char b) {
          return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
        })) {
      s.remove_prefix(scheme.size());
      break;
    }
  }
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

class Renderer {
 public:
  explicit Renderer(size_t input_size) : writer_(input_size / 2 + 16) {}

  std::string Render(const GumboNode* root) {
    struct Frame {
      const GumboNode* node;
      unsigned next_child;
      size_t mark;  // output size when a link started
    };
    std::vector<Frame> stack;
    stack.reserve(32);
    stack.push_back({root, 0, 0});
    while (!stack.empty()) {
      Frame& frame = stack.back();
      const GumboVector& children = frame.node->type == GUMBO_NODE_DOCUMENT ? frame.node->v.document.children
                                                                            : frame.node->v.element.children;
      if (frame.next_child >= children.length) {
        if (frame.node->type == GUMBO_NODE_ELEMENT) Exit(frame.node->v.element, frame.mark);
        stack.pop_back();
        continue;
      }
      const auto* child = static_cast<const GumboNode*>(children.data[frame.next_child++]);
      switch (child->type) {
        case GUMBO_NODE_TEXT:
        case GUMBO_NODE_CDATA:
        case GUMBO_NODE_WHITESPACE:
          if (verbatim_depth_ > 0) {
            writer_.Verbatim(child->v.text.text);
          } else {
            writer_.Text(child->v.text.text);
          }
          break;
        case GUMBO_NODE_ELEMENT:
          if (Enter(child->v.element)) stack.push_back({child, 0, writer_.out().size()});
          break;
        default:  // comments, templates, nested documents
          break;
      }
    }
    return writer_.Finish();
  }

 private:
  struct ListState {
    bool ordered;
    int next;
  };

  // Handles an opening tag; false when the element's subtree is to be skipped.
  bool Enter(const GumboElement& element) {
    const GumboTag tag = element.tag;
    if (IsDropped(tag)) return false;
    if (HasClassToken(element) || IsCitedReply(element)) return false;
    if (tag == GUMBO_TAG_BR) {
      writer_.LineBreak();
      return false;
    }
    if (int breaks = BlockBreaks(tag); breaks > 0) writer_.Break(breaks);
    if (IsVerbatim(tag)) ++verbatim_depth_;
    switch (tag) {
      case GUMBO_TAG_OL:
        lists_.push_back({true, IntAttribute(element, "start", 1)});
        break;
      case GUMBO_TAG_UL:
      case GUMBO_TAG_DIR:
      case GUMBO_TAG_MENU:
        lists_.push_back({false, 0});
        break;
      case GUMBO_TAG_LI: {
        std::string prefix;
        if (lists_.size() > 1) prefix.assign(2 * (lists_.size() - 1), ' ');
        if (!lists_.empty() && lists_.back().ordered) {
          ListState& list = lists_.back();
          list.next = IntAttribute(element, "value", list.next);
          prefix += std::to_string(list.next);
          prefix += ". ";
          ++list.next;
        } else {
          prefix += "- ";
        }
        writer_.SetPrefix(std::move(prefix));
        break;
      }
      case GUMBO_TAG_TABLE:
        cells_.push_back(0);
        break;
      case GUMBO_TAG_TR:
        if (!cells_.empty()) cells_.back() = 0;
        break;
      case GUMBO_TAG_TD:
      case GUMBO_TAG_TH:
        if (!cells_.empty() && cells_.back()++ > 0) {
          if (writer_.AtLineStart()) {
            writer_.Raw("| ");
          } else {
            writer_.Raw(" | ");
          }
        }
        writer_.EnterCell();
        break;
      default:
        if (int level = HeadingLevel(tag); level > 0) {
          std::string prefix(static_cast<size_t>(level), '#');
          prefix.push_back(' ');
          writer_.SetPrefix(std::move(prefix));
        }
        break;
    }
    return true;
  }

  void Exit(const GumboElement& element, size_t mark) {
    const GumboTag tag = element.tag;
    switch (tag) {
      case GUMBO_TAG_OL:
      case GUMBO_TAG_UL:
      case GUMBO_TAG_DIR:
      case GUMBO_TAG_MENU:
        if (!lists_.empty()) lists_.pop_back();
        break;
      case GUMBO_TAG_TABLE:
        if (!cells_.empty()) cells_.pop_back();
        break;
      case GUMBO_TAG_TD:
      case GUMBO_TAG_TH:
        writer_.ExitCell();
        break;
      case GUMBO_TAG_A:
        AppendLinkTarget(element, mark);
        break;
      default:
        break;
    }
    if (IsVerbatim(tag) && verbatim_depth_ > 0) --verbatim_depth_;
    if (int breaks = BlockBreaks(tag); breaks > 0) writer_.Break(breaks);
    if (HeadingLevel(tag) > 0 || tag == GUMBO_TAG_LI) writer_.SetPrefix({});  // an empty item or heading
  }

  void AppendLinkTarget(const GumboElement& element, size_t mark) {
    const GumboAttribute* href_attr = gumbo_get_attribute(&element.attributes, "href");
    if (href_attr == nullptr) return;
    const std::string_view href = TrimView(href_attr->value);
    if (href.empty() || href.front() == '#') return;
    if (href.size() >= 11 && (href.substr(0, 11) == "javascript:" || href.substr(0, 11) == "JavaScript:"))
      return;
    const std::string& out = writer_.out();
    if (mark > out.size()) return;
    const std::string_view text = TrimView(std::string_view(out).substr(mark));
    if (text.empty()) return;
    if (text == href || StripForCompare(text) == StripForCompare(href)) return;
    std::string suffix;
    suffix.reserve(href.size() + 3);
    suffix += " (";
    // The url goes on the text's line even when its whitespace is odd.
    for (char c : href) suffix.push_back(IsAsciiSpace(static_cast<unsigned char>(c)) ? ' ' : c);
    suffix += ')';
    writer_.Append(suffix);
  }

  TextWriter writer_;
  std::vector<ListState> lists_;
  std::vector<int> cells_;  // per open table: cells seen in the current row
  int verbatim_depth_ = 0;
};

// Bump allocator for gumbo: everything a parse allocates is released at once afterwards, so no
// gumbo_destroy_output (it recurses per nesting level and overflows the stack on very deep documents) and no
// per-node malloc/free. Gumbo's own frees during the parse are ignored; it allocates a few times the input
// size in total. One per thread, keeping its first block between calls.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  static void* Allocate(void* self, size_t size) { return static_cast<Arena*>(self)->Take(size); }
  static void Deallocate(void* /*self*/, void* /*ptr*/) {}

  void Reset() {
    if (blocks_.size() > 1) blocks_.resize(1);
    if (!blocks_.empty() && blocks_[0].size > kKeepBytes) blocks_.clear();
    used_ = 0;
  }

  size_t allocated() const {
    size_t total = 0;
    for (const Block& b : blocks_) total += b.size;
    return total;
  }

 private:
  static constexpr size_t kAlign = alignof(std::max_align_t);
  static constexpr size_t kFirstBlock = 64 * 1024;
  static constexpr size_t kKeepBytes = 256 * 1024;

  struct Block {
    std::unique_ptr<std::byte[]> data;
    size_t size;
  };

  void* Take(size_t size) {
    size = (std::max<size_t>(size, 1) + kAlign - 1) & ~(kAlign - 1);
    if (blocks_.empty() || blocks_.back().size - used_ < size) {
      const size_t last = blocks_.empty() ? kFirstBlock / 2 : blocks_.back().size;
      const size_t block = std::max(size, std::min<size_t>(last * 2, 8 * 1024 * 1024));
      blocks_.push_back({std::unique_ptr<std::byte[]>(new (std::nothrow) std::byte[block]), block});
      if (blocks_.back().data == nullptr) {
        blocks_.pop_back();
        return nullptr;
      }
      used_ = 0;
    }
    void* p = blocks_.back().data.get() + used_;
    used_ += size;
    return p;
  }

  std::vector<Block> blocks_;
  size_t used_ = 0;  // in blocks_.back()
};

// Element nesting beyond which a document is refused: gumbo's tree builder scans the stack of open elements
// for most tags, so very deep documents cost quadratic time (50k levels: tens of seconds).
constexpr size_t kMaxNesting = 2000;

inline char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsVoidOrOptionalEnd(std::string_view name, bool& optional_end) {
  static constexpr std::string_view kVoid[] = {"area",  "base",   "br",    "col",  "embed",
                                               "hr",    "img",    "input", "link", "meta",
                                               "param", "source", "track", "wbr",  "image"};
  static constexpr std::string_view kOptional[] = {"p",     "li",    "dt",     "dd",       "tr",
                                                   "td",    "th",    "option", "optgroup", "thead",
                                                   "tbody", "tfoot", "rb",     "rt",       "rp"};
  optional_end = std::find(std::begin(kOptional), std::end(kOptional), name) != std::end(kOptional);
  return std::find(std::begin(kVoid), std::end(kVoid), name) != std::end(kVoid);
}

// A rough upper estimate of the element nesting of `html` (end tags close the nearest open element of their
// name; an element with an optional end tag closes an open one of the same name directly above it).
size_t EstimateNesting(std::string_view html) {
  std::vector<std::string> open;
  size_t deepest = 0;
  size_t i = 0;
  const size_t n = html.size();
  std::string name;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    ++i;
    if (i >= n) break;
    if (html.compare(i, 3, "!--") == 0) {
      const size_t end = html.find("-->", i + 3);
      if (end == std::string_view::npos) break;
      i = end + 3;
      continue;
    }
    const bool closing = html[i] == '/';
    if (closing) ++i;
    name.clear();
    while (i < n && (std::isalnum(static_cast<unsigned char>(html[i])) != 0))
      name.push_back(Lower(html[i++]));
    if (name.empty()) continue;
    const size_t gt = html.find('>', i);
    const bool self_closing = gt != std::string_view::npos && gt > 0 && html[gt - 1] == '/';
    if (closing) {
      for (size_t k = open.size(); k > 0 && open.size() - k < 64; --k) {
        if (open[k - 1] == name) {
          open.resize(k - 1);
          break;
        }
      }
      continue;
    }
    bool optional_end = false;
    if (self_closing || IsVoidOrOptionalEnd(name, optional_end)) continue;
    if (optional_end && !open.empty() && open.back() == name) continue;
    if (name == "script" || name == "style" || name == "textarea" || name == "title") {  // raw text
      const size_t end = html.find("</", i);
      if (end == std::string_view::npos) break;
      i = end;
      continue;
    }
    open.push_back(name);
    deepest = std::max(deepest, open.size());
  }
  return deepest;
}

bool NeedsParser(std::string_view text) {
  for (char c : text) {
    if (c == '<' || c == '&' || c == '\0') return true;
  }
  return false;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = SkipAscii(text, 0);
  while (i < n) {
    const size_t len = SequenceLength(data + i, n - i);
    if (len == 0) return false;
    i = SkipAscii(text, i + len);
  }
  return true;
}

std::string RepairUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const size_t ascii_end = SkipAscii(text, i);
    out.append(text.data() + i, ascii_end - i);
    i = ascii_end;
    if (i >= n) break;
    const size_t len = SequenceLength(data + i, n - i);
    if (len == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(text.data() + i, len);
      i += len;
    }
  }
  return out;
}

Result<std::string> HtmlToText(std::string_view html) {
  if (html.size() >= static_cast<size_t>(INT_MAX)) {
    return Error(InvalidArgument("HTML input of " + std::to_string(html.size()) +
                                 " bytes exceeds the 2 GiB limit of the HTML parser"));
  }
  std::string repaired;
  if (!IsValidUtf8(html)) {
    repaired = RepairUtf8(html);
    html = repaired;
  }
  if (!NeedsParser(html)) {
    TextWriter writer(html.size());
    writer.Text(html);
    return writer.Finish();
  }
  if (static_cast<size_t>(std::count(html.begin(), html.end(), '<')) > kMaxNesting) {
    const size_t nesting = EstimateNesting(html);
    if (nesting > kMaxNesting) {
      return Error(InvalidArgument("HTML nests about " + std::to_string(nesting) +
                                   " elements deep; more than " + std::to_string(kMaxNesting) +
                                   " is refused"));
    }
  }
  thread_local Arena arena;
  struct ResetOnExit {
    Arena& arena;
    ~ResetOnExit() { arena.Reset(); }
  } reset{arena};
  GumboOptions options = kGumboDefaultOptions;
  options.allocator = &Arena::Allocate;
  options.deallocator = &Arena::Deallocate;
  options.userdata = &arena;
  options.max_errors = 0;  // parse errors are not used; do not record them
  GumboOutput* output = gumbo_parse_with_options(&options, html.data(), html.size());
  if (output == nullptr || output->document == nullptr) {
    return Error(InvalidArgument("the HTML parser could not parse " + std::to_string(html.size()) +
                                 " bytes of input (out of memory)"));
  }
  return Renderer(html.size()).Render(output->document);
}

}  // namespace deskpipe::transforms
