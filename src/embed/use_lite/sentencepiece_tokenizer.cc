#include "embed/use_lite/sentencepiece_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/file_read.h"

namespace deskpipe::embed {
namespace {

constexpr char32_t kReplacement = 0xFFFD;
constexpr char32_t kWordBoundary = 0x2581;  // "▁"

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace

std::u32string DecodeUtf8Lossy(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const unsigned char b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int need;
    char32_t cp;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds for the first continuation byte
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2, cp = b & 0x0F;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3, cp = b & 0x07;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    size_t j = i + 1;
    bool ok = true;
    for (int k = 0; k < need; ++k, ++j) {
      if (j >= n) {
        ok = false;
        break;
      }
      const unsigned char c = static_cast<unsigned char>(text[j]);
      if (c < (k == 0 ? lo : 0x80) || c > (k == 0 ? hi : 0xBF)) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (c & 0x3F);
    }
    if (ok) {
      out.push_back(cp);
      i = j;
    } else {
      out.push_back(kReplacement);  // the maximal subpart [i, j) is replaced; the offending byte is reread
      i = j;
    }
  }
  return out;
}

std::u32string PreprocessForSentencePiece(std::string_view text) {
  std::string valid;
  valid.reserve(text.size());
  for (char32_t c : DecodeUtf8Lossy(text)) AppendUtf8(c, &valid);
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t len = utf8proc_map(
      reinterpret_cast<const utf8proc_uint8_t*>(valid.data()), static_cast<utf8proc_ssize_t>(valid.size()),
      &mapped, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
  std::u32string normalized;
  if (len >= 0) {
    normalized =
        DecodeUtf8Lossy(std::string_view(reinterpret_cast<const char*>(mapped), static_cast<size_t>(len)));
  } else {
    normalized = DecodeUtf8Lossy(valid);  // cannot happen for valid UTF-8; keep the text rather than drop it
  }
  std::free(mapped);
  if (normalized.empty()) return normalized;
  std::u32string out;
  out.reserve(normalized.size() + 1);
  out.push_back(kWordBoundary);
  for (char32_t c : normalized) out.push_back(c == U' ' ? kWordBoundary : c);
  return out;
}

Result<SentencePieceTokenizer> SentencePieceTokenizer::Load(const std::string& vocab_json_path) {
  ASSIGN_OR_RETURN(const std::string text,
                   ReadRegularFile(vocab_json_path, 64ll << 20, "64 MiB (the limit for a vocabulary file)"));
  Vocabulary vocabulary;
  try {
    const nlohmann::json root = nlohmann::json::parse(text);
    if (!root.is_array()) return Error(InvalidArgument(vocab_json_path + ": expected a JSON array"));
    vocabulary.reserve(root.size());
    for (size_t i = 0; i < root.size(); ++i) {
      const auto& entry = root[i];
      if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() ||
          !(entry[1].is_number() || entry[1].is_null())) {
        return Error(
            InvalidArgument(vocab_json_path + ": entry " + std::to_string(i) + " is not [\"piece\", score]"));
      }
      // A null score (the ':' pieces) acts as 0 in the reference: JavaScript's `null + x` is x.
      vocabulary.emplace_back(entry[0].get<std::string>(), entry[1].is_null() ? 0.0 : entry[1].get<double>());
    }
  } catch (const nlohmann::json::exception& e) {
    return Error(InvalidArgument(vocab_json_path + ": malformed JSON: " + e.what()));
  }
  if (vocabulary.size() <= 6) {
    return Error(InvalidArgument(vocab_json_path + ": vocabulary has only " +
                                 std::to_string(vocabulary.size()) + " entries"));
  }
  return SentencePieceTokenizer(std::move(vocabulary));
}

SentencePieceTokenizer::SentencePieceTokenizer(Vocabulary vocabulary, int reserved_symbols)
    : vocabulary_(std::move(vocabulary)) {
  trie_.emplace_back();
  utf16_length_.reserve(vocabulary_.size());
  for (size_t id = 0; id < vocabulary_.size(); ++id) {
    const std::u32string symbols = DecodeUtf8Lossy(vocabulary_[id].first);
    int units = 0;
    for (char32_t c : symbols) units += c > 0xFFFF ? 2 : 1;
    utf16_length_.push_back(units);
    if (static_cast<int>(id) < reserved_symbols || symbols.empty()) continue;
    int node = 0;
    for (char32_t c : symbols) {
      const uint64_t key = (static_cast<uint64_t>(node) << 32) | c;
      auto it = children_.find(key);
      if (it == children_.end()) {
        trie_.emplace_back();
        it = children_.emplace(key, static_cast<int>(trie_.size() - 1)).first;
      }
      node = it->second;
    }
    trie_[node].end = true;
    trie_[node].score = vocabulary_[id].second;
    trie_[node].id = static_cast<int>(id);
  }
}

int SentencePieceTokenizer::Child(int node, char32_t c) const {
  auto it = children_.find((static_cast<uint64_t>(node) << 32) | c);
  return it == children_.end() ? -1 : it->second;
}

std::vector<int> SentencePieceTokenizer::Encode(std::string_view text) const {
  const std::u32string symbols = PreprocessForSentencePiece(text);
  const size_t n = symbols.size();
  if (n == 0) return {};

  // Every piece that starts at each position (the JS commonPrefixSearch), in ascending start order.
  struct Match {
    size_t start, end;
    double score;
    int id;
  };
  std::vector<Match> matches;
  matches.reserve(n * 4);
  for (size_t i = 0; i < n; ++i) {
    const size_t before = matches.size();
    int node = Child(0, symbols[i]);
    for (size_t k = i; k < n && node >= 0;) {
      if (trie_[node].end) matches.push_back({i, k + 1, trie_[node].score, trie_[node].id});
      ++k;
      node = k < n ? Child(node, symbols[k]) : -1;
    }
    if (matches.size() == before) matches.push_back({i, i + 1, 0.0, 0});  // unknown symbol
  }
  // Group by end position, keeping ascending start within each group (stable).
  std::stable_sort(matches.begin(), matches.end(),
                   [](const Match& a, const Match& b) { return a.end < b.end; });

  std::vector<double> best(n + 1, 0.0);
  std::vector<int> words(n + 1, 0);
  for (const Match& m : matches) {
    const double score = m.score + best[m.start];
    if (best[m.end] == 0 || score >= best[m.end]) {
      best[m.end] = score;
      words[m.end] = m.id;
    }
  }

  std::vector<int> reversed;
  for (long iter = static_cast<long>(n); iter > 0;) {
    const int id = words[iter];
    reversed.push_back(id);
    iter -= utf16_length_[id];
  }
  std::vector<int> merged;
  merged.reserve(reversed.size());
  bool previous_unknown = false;
  for (int id : reversed) {
    if (!(previous_unknown && id == 0)) merged.push_back(id);
    previous_unknown = id == 0;
  }
  std::reverse(merged.begin(), merged.end());
  return merged;
}

}  // namespace deskpipe::embed
