// The document stage: a batch's records → its searchable documents (transforms::BuildDocuments: a ticket's
// thread, an article split at its headings), each carrying the hash the store keeps for it.
//
// The stored hash covers the metadata as well as the text, so a status or priority change rewrites the
// document's filters; transforms::DocumentContentHash (text only) stays what summaries are keyed by.
//
// Input: transformed records with their attachment text. Output: documents, without chunks.
// Thread-safety: a pure function; call from any thread. Lifetime: nothing is kept.
#pragma once

#include <vector>

#include "core/record.h"

namespace deskpipe::stages {

// The batch's documents, each content_hash = HashBuilder over its text hash and its metadata.
std::vector<Document> BuildBatchDocuments(const std::vector<Record>& records);

}  // namespace deskpipe::stages
