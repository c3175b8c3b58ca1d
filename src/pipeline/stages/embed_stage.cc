#include "pipeline/stages/embed_stage.h"

#include <algorithm>
#include <utility>

namespace deskpipe::stages {

EmbedStage::EmbedStage(Embedder& embedder, int batch_size, bool serialize, CacheLookup cached)
    : embedder_(embedder),
      batch_size_(static_cast<size_t>(std::max(1, batch_size))),
      serialize_(serialize),
      network_bound_(embedder.capabilities().network_bound),
      cached_(std::move(cached)) {}

Result<EmbedStage::Counts> EmbedStage::Run(std::vector<Document>& documents,
                                           const std::function<void(int64_t)>& on_vectors) {
  Counts counts;
  std::vector<std::string> hashes;
  for (const Document& document : documents) {
    for (const Chunk& chunk : document.chunks) hashes.push_back(chunk.content_hash);
  }
  if (hashes.empty()) return counts;
  ASSIGN_OR_RETURN(auto cached, cached_(hashes));

  // Chunks to embed, deduplicated by content hash: the same text is embedded once.
  std::vector<Chunk*> pending;
  std::unordered_map<std::string, std::vector<float>> computed;
  std::vector<std::string> texts;
  std::vector<std::string> text_hashes;
  for (Document& document : documents) {
    for (Chunk& chunk : document.chunks) {
      if (auto it = cached.find(chunk.content_hash); it != cached.end()) {
        chunk.vector = it->second;
        ++counts.cached;
        continue;
      }
      pending.push_back(&chunk);
      if (computed.emplace(chunk.content_hash, std::vector<float>{}).second) {
        texts.push_back(chunk.text);
        text_hashes.push_back(chunk.content_hash);
      }
    }
  }
  if (on_vectors) on_vectors(counts.cached);
  for (size_t begin = 0; begin < texts.size(); begin += batch_size_) {
    const size_t end = std::min(texts.size(), begin + batch_size_);
    std::vector<std::string> slice(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                   texts.begin() + static_cast<std::ptrdiff_t>(end));
    std::unique_lock<std::mutex> serialized;
    if (serialize_) serialized = std::unique_lock(serial_);
    ASSIGN_OR_RETURN(auto vectors, embedder_.Embed(slice));
    if (serialized.owns_lock()) serialized.unlock();
    if (vectors.size() != slice.size()) {
      return Error(Internal("embedder returned " + std::to_string(vectors.size()) + " vectors for " +
                            std::to_string(slice.size()) + " texts"));
    }
    for (size_t i = 0; i < vectors.size(); ++i) computed[text_hashes[begin + i]] = std::move(vectors[i]);
    counts.embedded += static_cast<int64_t>(vectors.size());
    if (on_vectors) on_vectors(static_cast<int64_t>(vectors.size()));
  }
  for (Chunk* chunk : pending) chunk->vector = computed[chunk->content_hash];
  return counts;
}

}  // namespace deskpipe::stages
