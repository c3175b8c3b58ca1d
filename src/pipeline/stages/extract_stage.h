// The extract stage: the text of a batch's attachments, each file parsed in a sandboxed child
// (extract/extract.h). A file that failed to download or to parse costs a dead letter; its record goes on
// without that text.
//
// Input: transformed records (attachments with bytes or a download_error). Output: the same records with
// extracted_text / extract_error filled in, dead letters, and the count of files extracted.
// Thread-safety: Run may be called from several threads at once (the extractor is found once, on first use).
// Lifetime: one per run; holds the extractor, or the reason there is none, for the run.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.h"
#include "core/status.h"
#include "extract/extract.h"
#include "store/store.h"

namespace deskpipe::stages {

// A failed attachment's dead-letter id: "<record id>/attachment-<attachment id>".
std::string AttachmentLetterId(std::string_view record_id, std::string_view attachment_id);
// The record a dead-letter id is about: the record id before an attachment's suffix, else the id itself.
std::string_view LetterRecordId(std::string_view letter_id);

class ExtractStage {
 public:
  using ExtractorFactory = std::function<Result<extract::Extractor>()>;

  // `create` finds the extractor when a first attachment arrives; when it fails (the worker binary is
  // missing), every attachment of the run is dead-lettered with its error instead.
  explicit ExtractStage(ExtractorFactory create = [] { return extract::Extractor::Create(); });

  // Returns how many attachments now have their text.
  int64_t Run(const std::string& stream, std::vector<Record>& records, std::vector<DeadLetter>& dead_letters);

 private:
  ExtractorFactory create_;
  std::once_flag once_;
  std::optional<extract::Extractor> extractor_;
  Status create_error_;
};

}  // namespace deskpipe::stages
