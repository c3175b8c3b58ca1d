// The platform adapter interface: one helpdesk platform read as named streams, each resumable from a JSON
// cursor. Adding a platform = one folder under platforms/ plus one line in registry.cc.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/record.h"
#include "core/status.h"

namespace deskpipe {

// What one call to Source::Next produced: records of one stream and the cursor to save once the sink has
// committed them. Replaying a batch is harmless: every write downstream is an upsert by id.
struct Batch {
  std::string stream;
  std::vector<Record> records;
  std::vector<std::string> removed_ids;  // record ids the platform no longer has (tombstones)
  nlohmann::json cursor;                 // the stream's state after this batch
  bool done = false;                     // the stream has nothing more for this run
  // Objects skipped because they could not be mapped (record id or "<type> <platform id>", and why, usually
  // kInvalidRecord); the runner dead-letters them. The batch's other records are unaffected.
  std::vector<std::pair<std::string, Status>> rejected;
};

// Reads one platform account. Not thread-safe: the runner drives an instance from one task at a time.
// Whatever it was constructed with (HTTP client, config) must outlive it.
class Source {
 public:
  virtual ~Source() = default;

  // The platform id ("freshdesk").
  virtual std::string platform() const = 0;

  // Stream names in the order the runner should read them (reference data first, so labels resolve).
  virtual std::vector<std::string> Streams() const = 0;

  // Reads the next batch of `stream` after `cursor` (null on the first run). A batch with done=true ends
  // the stream for this run; its cursor is the one to start from next time.
  virtual Result<Batch> Next(const std::string& stream, const nlohmann::json& cursor) = 0;
};

}  // namespace deskpipe
