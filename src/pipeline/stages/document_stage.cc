#include "pipeline/stages/document_stage.h"

#include "core/hash.h"
#include "transforms/thread.h"

namespace deskpipe::stages {

std::vector<Document> BuildBatchDocuments(const std::vector<Record>& records) {
  std::vector<Document> documents = transforms::BuildDocuments(records);
  for (Document& document : documents) {
    // BuildDocuments set the text hash: extend it rather than hash the sections again.
    document.content_hash = HashBuilder().Add(document.content_hash).Add(document.metadata.dump()).Hex();
  }
  return documents;
}

}  // namespace deskpipe::stages
