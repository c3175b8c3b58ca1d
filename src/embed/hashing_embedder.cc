#include "embed/hashing_embedder.h"

#include <cmath>
#include <cstdint>
#include <unordered_map>

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

// Lower-cases ASCII (non-ASCII bytes are kept as they are) and splits into word tokens.
std::vector<std::string> Tokenize(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if (IsWordByte(c)) {
      current.push_back(static_cast<char>(c));
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

struct Feature {
  float weight = 0;
  int count = 0;
};

void AddFeature(std::unordered_map<uint64_t, Feature>& features, uint64_t hash, float weight) {
  Feature& f = features[hash];
  f.weight = weight;
  ++f.count;
}

// Character n-grams of "<word>" over code points (a UTF-8 continuation byte never starts a gram).
void AddCharGrams(std::unordered_map<uint64_t, Feature>& features, const std::string& word) {
  std::string marked;
  marked.reserve(word.size() + 2);
  marked.push_back('<');
  marked += word;
  marked.push_back('>');
  std::vector<size_t> starts;  // byte offset of each code point, plus the end
  for (size_t i = 0; i < marked.size(); ++i) {
    if ((static_cast<unsigned char>(marked[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  const size_t chars = starts.size();
  starts.push_back(marked.size());
  for (int n = kMinCharGram; n <= kMaxCharGram; ++n) {
    if (chars < static_cast<size_t>(n)) break;
    for (size_t i = 0; i + n <= chars; ++i) {
      std::string_view gram(marked.data() + starts[i], starts[i + n] - starts[i]);
      AddFeature(features, FeatureHash(gram, kCharGramSeed), kCharGramWeight);
    }
  }
}

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
  std::vector<std::string> words = Tokenize(text);
  if (words.empty()) return out;

  std::unordered_map<uint64_t, Feature> features;
  features.reserve(words.size() * 16);
  std::string bigram;
  for (size_t i = 0; i < words.size(); ++i) {
    AddFeature(features, FeatureHash(words[i], kUnigramSeed), kUnigramWeight);
    if (i + 1 < words.size()) {
      bigram.assign(words[i]);
      bigram.push_back(' ');
      bigram += words[i + 1];
      AddFeature(features, FeatureHash(bigram, kBigramSeed), kBigramWeight);
    }
    AddCharGrams(features, words[i]);
  }

  for (const auto& [hash, feature] : features) {
    const size_t bucket = static_cast<size_t>(hash % static_cast<uint64_t>(dimension_));
    const float sign = (hash >> 63) ? -1.0f : 1.0f;
    out[bucket] += sign * feature.weight * (1.0f + std::log(static_cast<float>(feature.count)));
  }
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
