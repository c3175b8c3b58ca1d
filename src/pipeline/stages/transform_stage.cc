#include "pipeline/stages/transform_stage.h"

#include "transforms/thread.h"

namespace deskpipe::stages {

void AddRejectedRecordLetters(const std::string& stream,
                              const std::vector<std::pair<std::string, Status>>& rejected,
                              std::vector<DeadLetter>& dead_letters) {
  for (const auto& [record_id, status] : rejected) {
    const bool transient = status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kRateLimited;
    dead_letters.push_back({stream, record_id, transient ? "fetch" : "map",
                            std::string(StatusCodeName(status.code())), status.message()});
  }
}

void TransformRecords(const std::string& stream, std::vector<Record>& records,
                      std::vector<DeadLetter>& dead_letters) {
  // Compacted in place: a batch's records fill a few hundred KB, and a new vector of them would be fresh pages
  // to fault in at every batch.
  size_t kept = 0;
  for (Record& record : records) {
    auto converted = transforms::ConvertRecordContent(record);
    if (!converted) {
      dead_letters.push_back({stream, record.id, "transform", std::string(StatusCodeName(converted.error().code())),
                              converted.error().message()});
      continue;
    }
    if (&record != &records[kept]) records[kept] = std::move(record);
    ++kept;
  }
  records.erase(records.begin() + static_cast<std::ptrdiff_t>(kept), records.end());
}

}  // namespace deskpipe::stages
