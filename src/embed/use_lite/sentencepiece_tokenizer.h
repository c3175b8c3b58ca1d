// The SentencePiece unigram tokenizer of Universal Sentence Encoder Lite, exactly as the reference
// JavaScript (@energetic-ai/embeddings 0.2.0, lib/tokenizer.ts) does it, quirks included:
//   - input is decoded as UTF-8 (invalid bytes become U+FFFD, as Node's decoder does), NFKC-normalized
//     (utf8proc), and — when not empty — prefixed with "▁" with every U+0020 space replaced by "▁";
//     no lower-casing, no other whitespace handling;
//   - Viterbi over code points with the vocabulary's log-probability scores; at each end position the
//     candidates are visited by ascending start and a later one wins ties (`>=`), and a best score of
//     exactly 0 counts as "unset";
//   - a code point that starts no vocabulary piece becomes the unknown id 0 with score 0, and runs of
//     consecutive unknown ids collapse into one;
//   - the first 6 vocabulary entries (<unk>, <s>, </s>, extra ids) are never produced from text; a piece
//     listed twice maps to its last id.
// Thread-safety: immutable after construction; Encode() may be called from several threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"

namespace deskpipe::embed {

class SentencePieceTokenizer {
 public:
  // (piece, score) pairs; the index is the token id.
  using Vocabulary = std::vector<std::pair<std::string, double>>;

  // Reads the JSON vocabulary ([["piece", score], …]); errors name the file.
  static Result<SentencePieceTokenizer> Load(const std::string& vocab_json_path);
  explicit SentencePieceTokenizer(Vocabulary vocabulary, int reserved_symbols = 6);

  // Token ids of `text` (any length; callers clip to the model's limit).
  std::vector<int> Encode(std::string_view text) const;

  int vocabulary_size() const { return static_cast<int>(vocabulary_.size()); }
  const std::string& piece(int id) const { return vocabulary_[id].first; }

 private:
  struct TrieNode {
    bool end = false;
    double score = 0;
    int id = 0;
  };
  int Child(int node, char32_t c) const;

  Vocabulary vocabulary_;
  std::vector<int> utf16_length_;  // per id: the piece's length in UTF-16 code units (the JS `.length`)
  std::vector<TrieNode> trie_;     // trie_[0] is the root
  std::unordered_map<uint64_t, int> children_;  // (node << 32 | code point) -> child node
};

// Decodes UTF-8 to code points, replacing each maximal invalid subpart with U+FFFD (WHATWG decoder).
std::u32string DecodeUtf8Lossy(std::string_view text);
// The tokenizer's preprocessing: NFKC, then "▁" prefix and U+0020 → "▁" (empty stays empty).
std::u32string PreprocessForSentencePiece(std::string_view text);

}  // namespace deskpipe::embed
