// The platform adapter interface: one helpdesk platform read as named streams, each resumable from a JSON
// cursor, and the definition a platform hands the registry (its id, its Source factory, its settings).
// Adding a platform = one folder under platforms/ (ending in a `kPlatform` definition) plus one line in
// platforms/platform_list.cc.
// Folder: platforms/ (one folder per helpdesk) may include core/ and net/ (docs/ARCHITECTURE.md).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/known_record.h"
#include "core/record.h"
#include "core/status.h"
#include "net/http_client.h"

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

// A read-only view of what the sink has stored for one tenant, for sources that must diff against it:
// conversations removed from a thread, knowledge-base articles that disappeared, the reconciliation sweep
// over known ticket ids. Implemented over the Store by whoever drives the source (the runner); a source
// without one attached simply skips what needs it. Used from the source's task only; must outlive the
// source or be detached with AttachKnownRecords(nullptr).
class KnownRecords {
 public:
  virtual ~KnownRecords() = default;
  // Up to `limit` stored records of `type` ("ticket", "article", …) with id > `after_id`, in id order.
  virtual Result<std::vector<KnownRecord>> List(const std::string& type, const std::string& after_id,
                                                size_t limit) = 0;
  // The stored records whose parent_id is `parent_id` (a ticket's conversations).
  virtual Result<std::vector<KnownRecord>> Children(const std::string& parent_id) = 0;
  // The stored records among `ids` (absent ⇒ not stored).
  virtual Result<std::vector<KnownRecord>> Lookup(const std::vector<std::string>& ids) = 0;
};

// What a source has spent of its platform's API so far, for a progress ETA.
struct SourceUsage {
  int64_t credits = 0;  // API credits (requests, weighted by their cost) spent by the account in this process
  // What this process may spend per second (the account's rate × its budget share); nullopt while unknown.
  std::optional<double> budget_credits_per_second;
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

  // How many items (top-level records: a ticket with its conversations is one item) `stream` still has to read
  // after `cursor` (null on the first run), where the platform can count them cheaply; nullopt where it cannot
  // (the default). The number may be an upper bound (each platform says how); the caller clamps what it
  // reports. May cost an API call; a failure is the caller's to log, never a reason to stop a sync.
  virtual Result<std::optional<int64_t>> CountRemaining(const std::string& /*stream*/,
                                                        const nlohmann::json& /*cursor*/) {
    return std::optional<int64_t>();
  }

  // What reading has cost so far (API credits and the budget), for the progress ETA; nullopt for a source that
  // does not measure it (the default).
  virtual std::optional<SourceUsage> Usage() const { return std::nullopt; }

  // Gives the source a view of the stored records (nullptr detaches). Optional: sources that never diff
  // against the store ignore it.
  virtual void AttachKnownRecords(KnownRecords* /*known*/) {}

  // Reads one record again for `deskpipe retry-failed`: `record_id` as a dead letter stores it (a record id
  // such as "acme_freshdesk_123", or the "<type> <platform id>" of a record that failed mapping). The batch
  // holds that record with whatever belongs with it (a ticket's conversations), no cursor (the runner keeps the
  // stream's own) and done=true. NotFound when the platform no longer has it. Added for the pipeline runtime
  // (issue 8); the default says the platform cannot.
  virtual Result<Batch> Refetch(const std::string& stream, const std::string& record_id) {
    return Error(InvalidArgument("platform " + platform() + " cannot re-fetch one record (stream " + stream +
                                 ", id " + record_id + ")"));
  }
};

// What the registry knows of one platform. Each platform folder defines one as a constexpr `kPlatform` in its
// <name>_platform.h; the registry list (platforms/platform_list.cc) names it.
struct PlatformDefinition {
  const char* id;  // config.platform value ("freshdesk")
  // The Source for an account; `http` outlives it. The platform's own config errors as InvalidArgument.
  Result<std::unique_ptr<Source>> (*create)(const Config& config, net::HttpClient& http);
  // The settings the platform declares (keys, env vars, flags, secrets), read back with its settings struct.
  ConfigSection (*settings)();
};

}  // namespace deskpipe
