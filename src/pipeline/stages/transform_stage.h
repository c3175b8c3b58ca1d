// The transform stage, first of a batch's stages: the fetched records made ready for extraction and document
// assembly (HTML → text, invalid UTF-8 repaired), and dead letters for what the source or the conversion refused.
//
// Input: a fetched Batch's records and rejections. Output: the records that converted, in place, and their
// stream's dead letters. Depends on transforms/ only.
// Thread-safety: pure functions over their arguments; call from any thread. Lifetime: nothing is kept.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/record.h"
#include "core/status.h"
#include "store/store.h"

namespace deskpipe::stages {

// Dead letters for the records the source refused: stage "fetch" for one it could not read after its retries
// (Unavailable, RateLimited), "map" for any other.
void AddRejectedRecordLetters(const std::string& stream,
                              const std::vector<std::pair<std::string, Status>>& rejected,
                              std::vector<DeadLetter>& dead_letters);

// Converts every record's content (transforms::ConvertRecordContent). A record that cannot be converted is
// removed from `records` and dead-lettered (stage "transform"); the others keep their order.
void TransformRecords(const std::string& stream, std::vector<Record>& records,
                      std::vector<DeadLetter>& dead_letters);

}  // namespace deskpipe::stages
