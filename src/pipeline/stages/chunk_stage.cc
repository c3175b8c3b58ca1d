#include "pipeline/stages/chunk_stage.h"

#include <utility>

namespace deskpipe::stages {

Result<ChunkedDocuments> ChunkChangedDocuments(std::vector<Document> documents, const StoredHashLookup& stored_hashes,
                                               const transforms::ChunkerOptions& options,
                                               const transforms::TokenCounter& count_tokens) {
  std::vector<std::string> ids;
  ids.reserve(documents.size());
  for (const Document& document : documents) ids.push_back(document.id);
  ASSIGN_OR_RETURN(auto stored, stored_hashes(ids));
  ChunkedDocuments out;
  out.changed.reserve(documents.size());
  for (Document& document : documents) {
    auto it = stored.find(document.id);
    if (it != stored.end() && it->second == document.content_hash) {
      ++out.unchanged;
      continue;
    }
    transforms::ChunkDocument(document, options, count_tokens);
    out.changed.push_back(std::move(document));
  }
  return out;
}

}  // namespace deskpipe::stages
