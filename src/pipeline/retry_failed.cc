#include "pipeline/retry_failed.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "core/log.h"

namespace deskpipe {
namespace {

// Presents the dead letters of each stream as that stream's batches, one record per batch, each carrying the
// cursor it was handed (the stream's saved one) so the commit leaves the cursor as it was.
class RetrySource : public Source {
 public:
  RetrySource(Source& inner, std::map<std::string, std::vector<StoredDeadLetter>> letters)
      : inner_(inner), letters_(std::move(letters)) {}

  std::string platform() const override { return inner_.platform(); }

  std::vector<std::string> Streams() const override {
    std::vector<std::string> streams;
    for (const std::string& stream : inner_.Streams()) {
      if (letters_.count(stream)) streams.push_back(stream);
    }
    for (const auto& [stream, letters] : letters_) {  // streams the source no longer lists, last
      if (std::find(streams.begin(), streams.end(), stream) == streams.end()) streams.push_back(stream);
    }
    return streams;
  }

  Result<Batch> Next(const std::string& stream, const nlohmann::json& cursor) override {
    const std::vector<StoredDeadLetter>& letters = letters_[stream];
    size_t& at = position_[stream];
    Batch batch;
    batch.stream = stream;
    batch.cursor = cursor;
    if (at >= letters.size()) {
      batch.done = true;
      return batch;
    }
    const std::string& record_id = letters[at].letter.record_id;
    ++at;
    auto fetched = inner_.Refetch(stream, record_id);
    if (fetched) {
      batch.records = std::move(fetched->records);
      batch.rejected = std::move(fetched->rejected);
      batch.removed_ids = std::move(fetched->removed_ids);
    } else if (fetched.error().code() == StatusCode::kNotFound) {
      gone_.insert({stream, record_id});
    } else if (fetched.error().code() == StatusCode::kInvalidArgument ||
               fetched.error().code() == StatusCode::kUnauthenticated ||
               fetched.error().code() == StatusCode::kInternal) {
      return Error(fetched.error());  // configuration or a bug: stop, as a sync would
    } else {
      batch.rejected.push_back({record_id, fetched.error()});  // still failing: counted up again
    }
    batch.done = at >= letters.size();
    return batch;
  }

  // The letters left: each is one item at most (a letter the platform no longer has is none).
  Result<std::optional<int64_t>> CountRemaining(const std::string& stream, const nlohmann::json& /*cursor*/) override {
    auto it = letters_.find(stream);
    if (it == letters_.end()) return std::optional<int64_t>(0);
    return std::optional<int64_t>(static_cast<int64_t>(it->second.size() - std::min(it->second.size(), position_[stream])));
  }
  std::optional<SourceUsage> Usage() const override { return inner_.Usage(); }

  const std::set<std::pair<std::string, std::string>>& gone() const { return gone_; }

 private:
  Source& inner_;
  std::map<std::string, std::vector<StoredDeadLetter>> letters_;
  std::map<std::string, size_t> position_;
  std::set<std::pair<std::string, std::string>> gone_;
};

}  // namespace

nlohmann::json RetrySummary::ToJson() const {
  return {{"retried", retried}, {"resolved", resolved}, {"gone", gone}, {"still_failing", still_failing},
          {"run", run.ToJson()}};
}

Result<RetrySummary> RetryFailed(const Config& config, Source& source, Embedder& embedder, Store& store,
                                 RunnerOptions options, const std::vector<std::string>& streams) {
  ASSIGN_OR_RETURN(std::vector<StoredDeadLetter> before, store.ListDeadLetters(config.tenant_id));
  std::map<std::string, std::vector<StoredDeadLetter>> by_stream;
  for (StoredDeadLetter& stored : before) {
    if (!streams.empty() && std::find(streams.begin(), streams.end(), stored.letter.stream) == streams.end()) {
      continue;
    }
    by_stream[stored.letter.stream].push_back(stored);
  }
  RetrySummary summary;
  for (const auto& [stream, letters] : by_stream) summary.retried += static_cast<int64_t>(letters.size());
  if (summary.retried == 0) return summary;

  RetrySource retry(source, by_stream);
  options.streams = retry.Streams();
  // Retrying touches few records; one cursor per stream is only rewritten as it was.
  Runner runner(config, retry, embedder, store, std::move(options));
  ASSIGN_OR_RETURN(summary.run, runner.Run());

  // A letter whose attempts went up failed again; the others went through (or are gone) and leave the table.
  ASSIGN_OR_RETURN(std::vector<StoredDeadLetter> after, store.ListDeadLetters(config.tenant_id));
  std::map<std::pair<std::string, std::string>, int64_t> attempts_after;
  for (const StoredDeadLetter& stored : after) {
    attempts_after[{stored.letter.stream, stored.letter.record_id}] = stored.attempts;
  }
  for (const auto& [stream, letters] : by_stream) {
    for (const StoredDeadLetter& stored : letters) {
      const std::pair<std::string, std::string> key{stream, stored.letter.record_id};
      auto it = attempts_after.find(key);
      if (summary.run.stopped && it != attempts_after.end() && it->second == stored.attempts &&
          !retry.gone().count(key)) {
        continue;  // a stop came before this one was retried: it stays as it was
      }
      if (it != attempts_after.end() && it->second > stored.attempts) {
        ++summary.still_failing;
        continue;
      }
      if (it != attempts_after.end()) RETURN_IF_ERROR(store.ResolveDeadLetter(config.tenant_id, stream, key.second));
      if (retry.gone().count(key)) {
        ++summary.gone;
      } else {
        ++summary.resolved;
      }
    }
  }
  log::Info("dead letters retried", {{"retried", summary.retried}, {"resolved", summary.resolved},
                                     {"gone", summary.gone}, {"still_failing", summary.still_failing}});
  return summary;
}

}  // namespace deskpipe
