#include "embed/hashing_embedder.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/hash.h"

namespace deskpipe {
namespace {

// One seed per feature kind, so "ab" the word and "ab" the character gram land in unrelated buckets.
constexpr uint64_t kUnigramSeed = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kBigramSeed = 0xc2b2ae3d27d4eb4fULL;
constexpr uint64_t kCharGramSeed = 0x165667b19e3779f9ULL;

// Relative weight of each kind: whole words carry most of the meaning, character grams add robustness to
// inflection and typos without drowning the words.
constexpr float kUnigramWeight = 1.0f;
constexpr float kBigramWeight = 0.5f;
constexpr float kCharGramWeight = 0.25f;

constexpr int kMinCharGram = 3;
constexpr int kMaxCharGram = 5;

// splitmix64 finalizer: decorrelates Hash64(bytes) ^ seed so each kind gets independent buckets and signs.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t FeatureHash(std::string_view bytes, uint64_t seed) { return Mix(Hash64(bytes) ^ seed); }

bool IsWordByte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80; }

// Word tokens of `text`, as views into `lowered`: the text with ASCII lower-cased (non-ASCII bytes are kept as
// they are).
std::vector<std::string_view> Tokenize(std::string_view text, std::string& lowered) {
  lowered.assign(text);
  for (char& ch : lowered) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  std::vector<std::string_view> words;
  const std::string_view view = lowered;
  size_t start = std::string_view::npos;
  for (size_t i = 0; i <= view.size(); ++i) {
    const bool word = i < view.size() && IsWordByte(static_cast<unsigned char>(view[i]));
    if (word && start == std::string_view::npos) start = i;
    if (!word && start != std::string_view::npos) {
      words.push_back(view.substr(start, i - start));
      start = std::string_view::npos;
    }
  }
  return words;
}

// Builds the features of one text at a time. Its buffers are kept from text to text (one collector per
// thread), so steady-state embedding allocates nothing per word or gram.
class FeatureCollector {
 public:
  // Empties the table for a text of `words` words.
  void Reset(size_t words) {
    for (size_t index : filled_) slots_[index] = Slot{};
    filled_.clear();
    // ~20 features per word of ordinary length; the table stays at most half full.
    size_t capacity = 64;
    while (capacity < words * 40) capacity *= 2;
    // Keep a table of ordinary size; give back one a huge text needed.
    if (capacity > slots_.size() || slots_.size() > std::max<size_t>(capacity, kKeptSlots)) {
      slots_.assign(capacity, Slot{});
      filled_.shrink_to_fit();
    }
  }

  void Add(std::string_view bytes, uint64_t seed, float weight) {
    if (2 * (filled_.size() + 1) > slots_.size()) Grow();
    const size_t index = Find(FeatureHash(bytes, seed));
    if (slots_[index].count++ == 0) filled_.push_back(index);
    slots_[index].weight = weight;
  }

  void AddBigram(std::string_view first, std::string_view second) {
    scratch_.assign(first);
    scratch_.push_back(' ');
    scratch_.append(second);
    Add(scratch_, kBigramSeed, kBigramWeight);
  }

  // Character n-grams of "<word>" over code points (a UTF-8 continuation byte never starts a gram).
  void AddCharGrams(std::string_view word) {
    scratch_.assign("<");
    scratch_.append(word);
    scratch_.push_back('>');
    starts_.clear();  // byte offset of each code point, plus the end
    for (size_t i = 0; i < scratch_.size(); ++i) {
      if ((static_cast<unsigned char>(scratch_[i]) & 0xC0) != 0x80) starts_.push_back(i);
    }
    const size_t chars = starts_.size();
    starts_.push_back(scratch_.size());
    const std::string_view marked = scratch_;
    for (int n = kMinCharGram; n <= kMaxCharGram; ++n) {
      if (chars < static_cast<size_t>(n)) break;
      for (size_t i = 0; i + n <= chars; ++i) {
        Add(marked.substr(starts_[i], starts_[i + n] - starts_[i]), kCharGramSeed, kCharGramWeight);
      }
    }
  }

  // Adds every distinct feature into its signed bucket of `out`: weight · (1 + ln count).
  void Accumulate(std::vector<float>& out) const {
    const uint64_t buckets = out.size();
    for (size_t index : filled_) {
      const Slot& slot = slots_[index];
      const float sign = (slot.hash >> 63) ? -1.0f : 1.0f;
      out[slot.hash % buckets] += sign * slot.weight * (1.0f + std::log(static_cast<float>(slot.count)));
    }
  }

 private:
  static constexpr size_t kKeptSlots = size_t{1} << 16;  // 1 MB

  // Open addressing with linear probing: no allocation per feature, unlike a node-based hash map.
  struct Slot {
    uint64_t hash = 0;
    float weight = 0;
    int count = 0;  // 0: empty
  };

  // The index of `hash`'s slot, claimed if it was empty.
  size_t Find(uint64_t hash) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = static_cast<size_t>(hash) & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.count == 0 || slot.hash == hash) {
        slot.hash = hash;
        return i;
      }
    }
  }

  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (size_t& index : filled_) {
      const Slot slot = old[index];
      index = Find(slot.hash);
      slots_[index] = slot;
    }
  }

  std::vector<Slot> slots_;    // size a power of two
  std::vector<size_t> filled_;  // the slots in use, in the order they were filled
  std::string scratch_;
  std::vector<size_t> starts_;
};

}  // namespace

HashingEmbedder::HashingEmbedder(int dimension) : dimension_(dimension > 0 ? dimension : 384) {}

std::string HashingEmbedder::model_id() const { return "hashing-v1-" + std::to_string(dimension_); }

int HashingEmbedder::CountTokens(const std::string& text) const {
  int count = 0;
  bool in_word = false;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    bool word = IsWordByte(c);
    if (word && !in_word) ++count;
    in_word = word;
  }
  return count;
}

std::vector<float> HashingEmbedder::EmbedOne(std::string_view text) const {
  std::vector<float> out(static_cast<size_t>(dimension_), 0.0f);
  std::string lowered;
  const std::vector<std::string_view> words = Tokenize(text, lowered);
  if (words.empty()) return out;

  thread_local FeatureCollector features;
  features.Reset(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    features.Add(words[i], kUnigramSeed, kUnigramWeight);
    if (i + 1 < words.size()) features.AddBigram(words[i], words[i + 1]);
    features.AddCharGrams(words[i]);
  }
  features.Accumulate(out);

  double norm2 = 0;
  for (float v : out) norm2 += static_cast<double>(v) * v;
  if (norm2 > 0) {
    const float inv = static_cast<float>(1.0 / std::sqrt(norm2));
    for (float& v : out) v *= inv;
  }
  return out;
}

Result<std::vector<std::vector<float>>> HashingEmbedder::Embed(const std::vector<std::string>& texts) {
  std::vector<std::vector<float>> vectors;
  vectors.reserve(texts.size());
  for (const std::string& text : texts) vectors.push_back(EmbedOne(text));
  return vectors;
}

}  // namespace deskpipe
