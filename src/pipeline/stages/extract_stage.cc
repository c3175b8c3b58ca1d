#include "pipeline/stages/extract_stage.h"

#include <utility>

#include "core/log.h"

namespace deskpipe::stages {
namespace {

constexpr std::string_view kAttachmentSuffix = "/attachment-";

}  // namespace

std::string AttachmentLetterId(std::string_view record_id, std::string_view attachment_id) {
  std::string id(record_id);
  id += kAttachmentSuffix;
  id += attachment_id;
  return id;
}

std::string_view LetterRecordId(std::string_view letter_id) {
  const size_t suffix = letter_id.find(kAttachmentSuffix);
  return suffix == std::string_view::npos ? letter_id : letter_id.substr(0, suffix);
}

ExtractStage::ExtractStage(ExtractorFactory create) : create_(std::move(create)) {}

int64_t ExtractStage::Run(const std::string& stream, std::vector<Record>& records,
                          std::vector<DeadLetter>& dead_letters) {
  bool any = false;
  for (const Record& record : records) any = any || !record.attachments.empty();
  if (!any) return 0;
  std::call_once(once_, [this] {
    auto extractor = create_();
    if (extractor) {
      extractor_.emplace(std::move(*extractor));
    } else {
      create_error_ = extractor.error();
      log::Error("attachment text cannot be extracted", {{"reason", create_error_.ToString()}});
    }
  });
  if (extractor_) extract::ExtractAttachments(records, *extractor_);
  int64_t extracted = 0;
  for (const Record& record : records) {
    for (const Attachment& attachment : record.attachments) {
      const std::string id = AttachmentLetterId(record.id, attachment.id);
      if (!attachment.download_error.empty()) {
        dead_letters.push_back({stream, id, "download", "Unavailable", attachment.download_error});
      } else if (!extractor_) {
        dead_letters.push_back({stream, id, "extract", std::string(StatusCodeName(create_error_.code())),
                                create_error_.message()});
      } else if (!attachment.extract_error.empty()) {
        dead_letters.push_back(
            {stream, id, "extract", "InvalidRecord", attachment.name + ": " + attachment.extract_error});
      } else {
        ++extracted;
      }
    }
  }
  return extracted;
}

}  // namespace deskpipe::stages
