#include "transforms/chunker.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/hash.h"
#include "core/ids.h"

namespace deskpipe::transforms {
namespace {

constexpr int kDefaultMaxTokens = 128;
constexpr int kMinMaxTokens = 16;
constexpr size_t kNone = std::string_view::npos;
constexpr int kAnchorOneIn = 4;

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string CollapseWhitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (IsSpace(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// True when the word ending at `end` ends a sentence (".", "!", "?", "。", possibly followed by closers).
bool EndsSentence(std::string_view text, size_t end) {
  size_t i = end;
  while (i > 0 && (text[i - 1] == '"' || text[i - 1] == '\'' || text[i - 1] == ')' || text[i - 1] == ']'))
    --i;
  if (i == 0) return false;
  const char c = text[i - 1];
  if (c == '.' || c == '!' || c == '?') return true;
  return i >= 3 && text.substr(i - 3, 3) == "\xE3\x80\x82";  // 。
}

// A place a piece may end: right after a word. level 3: a paragraph break (or the end of the text) follows;
// 2: a line break follows or the word ends a sentence; 1: any other word end.
struct Boundary {
  size_t pos;
  int level;
};

// Enumerates the word ends of text from a position on, lazily.
class BoundaryScanner {
 public:
  BoundaryScanner(std::string_view text, size_t from) : text_(text), pos_(from) {}

  bool Next(Boundary& out) {
    const size_t n = text_.size();
    while (pos_ < n && IsSpace(text_[pos_])) ++pos_;
    if (pos_ >= n) return false;
    while (pos_ < n && !IsSpace(text_[pos_])) ++pos_;
    const size_t end = pos_;
    int newlines = 0;
    while (pos_ < n && IsSpace(text_[pos_])) newlines += text_[pos_++] == '\n';
    int level = 1;
    if (newlines >= 2 || pos_ >= n) {
      level = 3;
    } else if (newlines == 1 || EndsSentence(text_, end)) {
      level = 2;
    }
    out = {end, level};
    return true;
  }

 private:
  std::string_view text_;
  size_t pos_;
};

struct Fit {
  size_t end = kNone;  // kNone: not even the first word after min_end fits
  bool all = false;    // the whole rest of the text fits
};

// Finds where a piece text[start, end) should end so that it counts ≤ budget, with end > min_end at a word
// boundary: the last paragraph break keeping the piece at least half as long as the longest fit, else the
// last line/sentence end doing so, else the longest fit. Gallops then bisects over word ends, so the counter
// sees O(log n) texts each about a piece long.
Fit FitPiece(std::string_view text, size_t start, size_t min_end, int budget, const TokenCounter& count) {
  BoundaryScanner scanner(text, min_end);
  std::vector<Boundary> ends;
  bool exhausted = false;
  auto ensure = [&](size_t k) {
    Boundary b;
    while (ends.size() < k && !exhausted) {
      if (scanner.Next(b)) {
        ends.push_back(b);
      } else {
        exhausted = true;
      }
    }
    return ends.size() >= k;
  };
  auto fits = [&](size_t k) { return count(text.substr(start, ends[k - 1].pos - start)) <= budget; };

  size_t lo = 0;  // the first lo ends fit
  size_t hi = 0;  // ends[hi-1] does not fit (0: unknown)
  size_t k = 1;
  while (true) {
    if (!ensure(k)) {
      const size_t n = ends.size();
      if (n > lo && !fits(n)) {
        hi = n;
      } else {
        lo = n;
      }
      break;
    }
    if (!fits(k)) {
      hi = k;
      break;
    }
    lo = k;
    k *= 2;
  }
  if (hi > 0) {
    while (hi - lo > 1) {
      const size_t mid = lo + (hi - lo) / 2;
      if (fits(mid)) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
  }
  Fit fit;
  if (lo == 0) return fit;
  if (hi == 0 && exhausted && lo == ends.size()) {
    fit.end = ends[lo - 1].pos;
    fit.all = true;
    return fit;
  }
  const size_t longest = ends[lo - 1].pos;
  const size_t half = start + (longest - start) / 2;
  for (int level = 3; level >= 2; --level) {
    for (size_t i = lo; i > 0; --i) {
      const Boundary& b = ends[i - 1];
      if (b.pos < half) break;
      if (b.level >= level) {
        fit.end = b.pos;
        return fit;
      }
    }
  }
  fit.end = longest;
  return fit;
}

// For a word too long for any piece: the longest cut of text[start, …) inside the first word after min_end,
// at a UTF-8 character boundary, that counts ≤ budget; at least one character.
size_t CharCut(std::string_view text, size_t start, size_t min_end, int budget, const TokenCounter& count) {
  size_t word = min_end;
  while (word < text.size() && IsSpace(text[word])) ++word;
  size_t word_end = word;
  while (word_end < text.size() && !IsSpace(text[word_end])) ++word_end;
  if (word >= word_end) return word_end;
  auto char_floor = [&](size_t pos) {
    while (pos > word && pos < text.size() && IsContinuation(text[pos])) --pos;
    return pos;
  };
  size_t first = word + 1;  // end of the first character
  while (first < word_end && IsContinuation(text[first])) ++first;
  size_t lo = first;  // always taken
  size_t hi = word_end + 1;
  while (hi - lo > 1) {
    const size_t mid = char_floor(lo + (hi - lo) / 2);
    if (mid <= lo) break;
    if (count(text.substr(start, mid - start)) <= budget) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return std::min(lo, word_end);
}

// Where the next piece starts so that it repeats about overlap_tokens whole words from the end of
// text[piece_begin, end). Returns end when nothing overlaps.
size_t OverlapStart(std::string_view text, size_t piece_begin, size_t end, int overlap_tokens,
                    const TokenCounter& count) {
  if (overlap_tokens <= 0) return end;
  size_t first_word = piece_begin;
  while (first_word < end && IsSpace(text[first_word])) ++first_word;
  size_t result = end;
  size_t pos = end;
  while (true) {
    while (pos > first_word && IsSpace(text[pos - 1])) --pos;
    while (pos > first_word && !IsSpace(text[pos - 1])) --pos;
    if (pos <= first_word) break;  // the next piece must start after this one
    if (count(text.substr(pos, end - pos)) > overlap_tokens) break;
    result = pos;
  }
  return result;
}

// The longest prefix of `text` (cut at a word, else character boundary) counting ≤ budget.
std::string_view FitWords(std::string_view text, int budget, const TokenCounter& count) {
  if (text.empty() || count(text) <= budget) return text;
  Fit fit = FitPiece(text, 0, 0, budget, count);
  const size_t end = fit.end != kNone ? fit.end : CharCut(text, 0, 0, budget, count);
  return Trim(text.substr(0, end));
}

class Chunker {
 public:
  Chunker(Document& document, const ChunkerOptions& options, const TokenCounter& count)
      : document_(document), count_(count) {
    max_tokens_ = options.max_tokens <= 0 ? kDefaultMaxTokens : std::max(options.max_tokens, kMinMaxTokens);
    overlap_tokens_ = std::max(0, options.overlap_tokens);
  }

  void Run() {
    const std::string title = CollapseWhitespace(document_.title);
    const std::string_view fitted_title = FitWords(title, max_tokens_ / 4, count_);
    if (!fitted_title.empty()) {
      prefix_.assign(fitted_title);
      prefix_.push_back('\n');
    }
    std::string head;
    for (size_t s = 0; s < document_.sections.size(); ++s) {
      const Section& section = document_.sections[s];
      const std::string_view text = Trim(section.text);
      if (text.empty()) continue;
      section_index_ = static_cast<int>(std::min<size_t>(s, kMaxSections - 1));
      head.clear();
      if (!section.label.empty()) {
        const std::string label = CollapseWhitespace(section.label);
        const std::string_view fitted = FitWords(label, max_tokens_ / 4, count_);
        if (!fitted.empty()) {
          head.push_back('[');
          head.append(fitted);
          head.append("] ");
        }
      }
      AddSection(head, text, IsAnchor(section));
    }
    if (current_has_body_) Emit(std::move(current_));
    if (chunks_.empty() && !fitted_title.empty()) {
      chunk_section_ = 0;
      piece_ = 0;
      Emit(std::string(fitted_title));
    }
    document_.chunks = std::move(chunks_);
  }

 private:
  int Count(std::string_view text) const { return count_(text); }

  // A section that always starts a chunk. Drawn from its own content (about one in four), so that after an
  // edit the packing of the sections that follow falls back into step at the next anchor.
  static bool IsAnchor(const Section& section) {
    return HashBuilder().Add(section.label).Add(section.text).Value() % kAnchorOneIn == 0;
  }

  void StartChunk() {
    chunk_section_ = section_index_;
    piece_ = 0;
  }

  void Emit(std::string text) {
    if (piece_ >= kPiecesPerSection) {  // see kPiecesPerSection: the rest of a huge section is not indexed
      current_.clear();
      current_has_body_ = false;
      return;
    }
    Chunk chunk;
    chunk.index = chunk_section_ * kPiecesPerSection + piece_++;
    chunk.id = MakeChunkId(document_.id, chunk.index);
    chunk.content_hash = HashHex(text);
    chunk.text = std::move(text);
    chunks_.push_back(std::move(chunk));
    current_.clear();
    current_has_body_ = false;
  }

  void AddSection(std::string_view head, std::string_view text, bool anchor) {
    if (current_has_body_ && anchor) Emit(std::move(current_));
    if (current_has_body_) {
      scratch_.assign(current_);
      scratch_.append("\n\n");
      scratch_.append(head);
      scratch_.append(text);
      if (Count(scratch_) <= max_tokens_) {
        current_.swap(scratch_);
        return;
      }
      Emit(std::move(current_));
    }
    StartChunk();
    scratch_.assign(prefix_);
    scratch_.append(head);
    scratch_.append(text);
    if (Count(scratch_) <= max_tokens_) {
      current_.swap(scratch_);
      current_has_body_ = true;
      return;
    }
    SplitSection(head, text);
  }

  // `text` is trimmed and too long for one chunk.
  void SplitSection(std::string_view head, std::string_view text) {
    std::string base = prefix_;
    base.append(head);
    const int full_budget = std::max(1, max_tokens_ - Count(base));
    const int overlap = std::min(overlap_tokens_, full_budget / 2);
    size_t start = 0;    // where the piece's text starts (inside the previous piece when overlapping)
    size_t min_end = 0;  // the previous piece's end: this piece must go further
    int budget = full_budget;
    while (true) {
      Fit fit = FitPiece(text, start, min_end, budget, count_);
      if (fit.end == kNone && start < min_end) {  // the overlap leaves no room for the next word
        start = min_end;
        fit = FitPiece(text, start, min_end, budget, count_);
      }
      const size_t end = fit.end != kNone ? fit.end : CharCut(text, start, min_end, budget, count_);
      std::string chunk = base;
      chunk.append(Trim(text.substr(start, end - start)));
      const int tokens = Count(chunk);
      if (tokens > max_tokens_ && budget > 1) {  // the counter is not additive: try a smaller piece
        budget = std::max(1, budget - std::max(1, tokens - max_tokens_));
        continue;
      }
      budget = full_budget;
      if (Trim(text.substr(end)).empty()) {  // the last piece stays open for the sections that follow
        current_ = std::move(chunk);
        current_has_body_ = true;
        return;
      }
      Emit(std::move(chunk));
      start = OverlapStart(text, start, end, overlap, count_);
      min_end = end;
    }
  }

  Document& document_;
  const TokenCounter& count_;
  int max_tokens_ = kDefaultMaxTokens;
  int overlap_tokens_ = 0;
  int section_index_ = 0;  // index in document.sections of the section being added
  int chunk_section_ = 0;  // index of the section the open chunk started with
  int piece_ = 0;          // chunks emitted so far that started with chunk_section_
  std::string prefix_;     // the title line, or empty
  std::string current_;    // the chunk being filled
  bool current_has_body_ = false;
  std::string scratch_;
  std::vector<Chunk> chunks_;
};

}  // namespace

void ChunkDocument(Document& document, const ChunkerOptions& options, const TokenCounter& count_tokens) {
  Chunker(document, options, count_tokens).Run();
}

int CountWordTokens(std::string_view text) {
  auto is_word = [](unsigned char c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  int tokens = 0;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (is_word(c)) {
      ++tokens;
      while (i < n && is_word(static_cast<unsigned char>(text[i]))) ++i;
      continue;
    }
    if (c > ' ' && c < 0x7F) ++tokens;  // punctuation and symbols
    ++i;
  }
  return tokens;
}

}  // namespace deskpipe::transforms
