#include "pipeline/retry_failed.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "core/log.h"
#include "pipeline/stages/extract_stage.h"

namespace deskpipe {
namespace {

using LetterKey = std::pair<std::string, std::string>;  // stream, record id

// What came of re-reading a letter's record, decided on the fetch thread and read once the run is over.
struct ReadOutcome {
  enum class Kind {
    kReread,        // its record was read again and went down the pipeline
    kGone,          // the platform no longer has it
    kNotRetryable,  // the platform cannot re-read it
    kNotReread,     // re-reading it failed this time
  };
  Kind kind = Kind::kReread;
  std::string reason;  // why, for the last two
};

// Whether the re-read `batch` removes the record `letter_id` is about (a conversation deleted from its thread).
bool Removes(const Batch& batch, std::string_view letter_id) {
  const std::string_view record_id = stages::LetterRecordId(letter_id);
  return std::find(batch.removed_ids.begin(), batch.removed_ids.end(), record_id) != batch.removed_ids.end();
}

// Whether the re-read `batch` holds what `letter_id` is about: its record (an attachment's letter: the record
// the attachment belongs to), its removal, or a refusal under the letter's own id.
bool Holds(const Batch& batch, std::string_view letter_id) {
  const std::string_view record_id = stages::LetterRecordId(letter_id);
  for (const Record& record : batch.records) {
    if (record.id == record_id) return true;
  }
  for (const auto& [rejected_id, status] : batch.rejected) {
    if (rejected_id == letter_id) return true;
  }
  return Removes(batch, letter_id);
}

// Presents the dead letters of each stream as that stream's batches, one letter per batch, each carrying the
// cursor it was handed (the stream's saved one) so the commit leaves the cursor as it was. A letter whose
// record came with an earlier letter's re-read is not read again: its batch is empty.
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
    batch.done = at >= letters.size();
    if (outcomes_.count({stream, record_id})) return batch;
    auto fetched = inner_.Refetch(stream, record_id);
    if (!fetched) {
      const Status& error = fetched.error();
      switch (error.code()) {
        case StatusCode::kNotFound:
          outcomes_[{stream, record_id}] = {ReadOutcome::Kind::kGone, error.message()};
          break;
        case StatusCode::kInvalidArgument:
        case StatusCode::kUnauthenticated:
        case StatusCode::kInternal:
        case StatusCode::kDataLoss:
          return Error(error);  // configuration, a broken store or a bug: stop, as a sync would
        case StatusCode::kInvalidRecord:
          outcomes_[{stream, record_id}] = {ReadOutcome::Kind::kNotRetryable, error.message()};
          break;
        default:
          outcomes_[{stream, record_id}] = {ReadOutcome::Kind::kNotReread, error.ToString()};
          break;
      }
      return batch;  // nothing to run: the letter is left as it is
    }
    auto reread = [&](const std::string& id) {
      return ReadOutcome{Removes(*fetched, id) ? ReadOutcome::Kind::kGone : ReadOutcome::Kind::kReread, ""};
    };
    outcomes_[{stream, record_id}] = reread(record_id);
    // The later letters this re-read answers too (a thread's other conversations and attachments).
    for (size_t i = at; i < letters.size(); ++i) {
      const std::string& other = letters[i].letter.record_id;
      if (!outcomes_.count({stream, other}) && Holds(*fetched, other)) outcomes_[{stream, other}] = reread(other);
    }
    batch.records = std::move(fetched->records);
    batch.rejected = std::move(fetched->rejected);
    batch.removed_ids = std::move(fetched->removed_ids);
    return batch;
  }

  // The letters left: each is one item at most (a letter read with an earlier one, or not re-read, is none).
  Result<std::optional<int64_t>> CountRemaining(const std::string& stream,
                                                const nlohmann::json& /*cursor*/) override {
    auto it = letters_.find(stream);
    if (it == letters_.end()) return std::optional<int64_t>(0);
    const size_t left = it->second.size() - std::min(it->second.size(), position_[stream]);
    return std::optional<int64_t>(static_cast<int64_t>(left));
  }
  std::optional<SourceUsage> Usage() const override { return inner_.Usage(); }
  // The platform may need the stored records to re-read one (a conversation's ticket) and diffs a re-read
  // thread against them as a sync does.
  void AttachKnownRecords(KnownRecords* known) override { inner_.AttachKnownRecords(known); }

  // What came of the letter's re-read; null when it was never reached (a stop came first).
  const ReadOutcome* Outcome(const LetterKey& key) const {
    auto it = outcomes_.find(key);
    return it == outcomes_.end() ? nullptr : &it->second;
  }

 private:
  Source& inner_;
  std::map<std::string, std::vector<StoredDeadLetter>> letters_;
  std::map<std::string, size_t> position_;
  std::map<LetterKey, ReadOutcome> outcomes_;
};

}  // namespace

nlohmann::json RetrySummary::ToJson() const {
  nlohmann::json left = nlohmann::json::array();
  for (const UnretriedLetter& letter : not_retried) {
    left.push_back({{"stream", letter.stream}, {"record_id", letter.record_id}, {"retryable", letter.retryable},
                    {"reason", letter.reason}});
  }
  return {{"retried", retried},
          {"resolved", resolved},
          {"gone", gone},
          {"still_failing", still_failing},
          {"not_retryable", not_retryable},
          {"not_reread", not_reread},
          {"not_retried", std::move(left)},
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

  // A letter whose attempts went up failed again (the pipeline wrote it anew); the others re-read went through
  // (or are gone) and leave the table.
  ASSIGN_OR_RETURN(std::vector<StoredDeadLetter> after, store.ListDeadLetters(config.tenant_id));
  std::map<LetterKey, int64_t> attempts_after;
  for (const StoredDeadLetter& stored : after) {
    attempts_after[{stored.letter.stream, stored.letter.record_id}] = stored.attempts;
  }
  using Kind = ReadOutcome::Kind;
  for (const auto& [stream, letters] : by_stream) {
    for (const StoredDeadLetter& stored : letters) {
      const LetterKey key{stream, stored.letter.record_id};
      const ReadOutcome* outcome = retry.Outcome(key);
      if (outcome == nullptr) continue;  // a stop came before this one was retried: it stays as it was
      if (outcome->kind == Kind::kNotRetryable || outcome->kind == Kind::kNotReread) {
        const bool retryable = outcome->kind == Kind::kNotReread;
        ++(retryable ? summary.not_reread : summary.not_retryable);
        summary.not_retried.push_back({stream, key.second, retryable, outcome->reason});
        continue;
      }
      auto it = attempts_after.find(key);
      if (it != attempts_after.end() && it->second > stored.attempts) {
        ++summary.still_failing;
        continue;
      }
      // After a stop, a re-read batch may not have committed: the letter stays as it was.
      if (summary.run.stopped && outcome->kind == Kind::kReread) continue;
      if (it != attempts_after.end()) {
        RETURN_IF_ERROR(store.ResolveDeadLetter(config.tenant_id, stream, key.second));
      }
      ++(outcome->kind == Kind::kGone ? summary.gone : summary.resolved);
    }
  }
  log::Info("dead letters retried", {{"retried", summary.retried},
                                     {"resolved", summary.resolved},
                                     {"gone", summary.gone},
                                     {"still_failing", summary.still_failing},
                                     {"not_retryable", summary.not_retryable},
                                     {"not_reread", summary.not_reread}});
  return summary;
}

}  // namespace deskpipe
