// LLM summaries of ticket threads (issue 8 point 7; hybrid mode with ENABLE_LLM_SUMMARY_GENERATION=true).
//
// Each ticket document of a batch gets a summary from an OpenAI-compatible chat-completions endpoint
// (`POST {LLM_SUMMARY_URL}/chat/completions`), kept as
//   - a SQL record of type "ticket_summary" (id "{ticket id}/summary", parent_id the ticket, content the
//     summary text, in the generic records table), and
//   - a searchable document of type "ticket_summary" with the same id: one section labelled "summary",
//     chunked and embedded like any document, metadata linking it to its ticket ("ticket_id").
// Re-summarizing is avoided by the summary document's content hash: it is a function of the model and of
// the thread's own content hash (title, state, every message; not the metadata), so a batch asks the store
// for the stored summary hashes and calls the model only for threads whose text changed since their summary
// was made. A status or priority change alone never re-summarizes (which is also why a summary document
// carries only thread-derived metadata — has_private, created_at — and no status/priority filters).
// Tickets that are no longer active (trash, spam, archive) or were removed lose their summary.
//
// Requests go through a net::AccountRequester (one per summarizer): 5xx and transport failures back off, a
// 429 waits its Retry-After (a longer one than max_retry_after fails the thread) and pauses this
// summarizer's other requests; together at most max_attempts tries per thread.
// Failures (HTTP error, timeout, malformed response) never block the sync: the ticket is indexed without a
// summary and a dead letter (stage "summarize", the ticket's record id) records why. After
// `max_consecutive_failures` failures in a row the endpoint is taken as down for the rest of the run: the
// remaining threads are dead-lettered without a call, so a dead endpoint costs a bounded time per run.
//
// The API key is a secret: it travels only in the Authorization header and never appears in a log line,
// an error, a dead letter, the store or a status (server messages are quoted only after masking it).
// Plain http is refused unless the host is loopback.
//
// Thread-safety: AddSummaries and Summarize may be called from several threads at once (the runner's CPU
// workers); each call runs its requests on up to `concurrency` threads of its own and waits for them, each
// request bounded by `timeout`. Lifetime: owns its HTTP client; create once per run.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/record.h"
#include "core/status.h"
#include "net/clock.h"
#include "net/http_client.h"
#include "store/store.h"

namespace deskpipe::net {
class AccountRequester;
}

namespace deskpipe {

inline constexpr char kTicketSummaryType[] = "ticket_summary";

struct SummarizerOptions {
  std::string base_url = "https://api.openai.com/v1";  // requests go to base_url + "/chat/completions"
  std::string api_key;                                 // secret; empty ⇒ no Authorization header
  std::string model = "gpt-4o-mini";
  std::chrono::milliseconds timeout{60000};  // per request, connect included
  int concurrency = 4;                       // requests in flight per AddSummaries call
  int max_attempts = 2;                      // tries per thread for 429 / 5xx / transport failures
  std::chrono::milliseconds retry_backoff{500};      // first retry's wait, doubled after each failure
  std::chrono::milliseconds max_retry_after{10000};  // a longer Retry-After fails the thread (dead letter)
  int max_consecutive_failures = 5;  // then the endpoint is taken as down for the rest of the run
  size_t max_input_chars = 24000;    // longer threads keep their start and end (the middle is elided)
  size_t max_summary_chars = 4000;   // a longer answer is cut
  int max_output_tokens = 300;       // sent as max_tokens
  std::shared_ptr<net::Clock> clock;  // time source of retry waits (tests: net::FakeClock); default: the system's
};

// One model answer.
struct ThreadSummary {
  std::string text;
  nlohmann::json usage;  // the response's "usage" object, when given
};

class Summarizer {
 public:
  // The store's content hashes of the given document ids (absent ⇒ not stored).
  using HashLookup =
      std::function<Result<std::unordered_map<std::string, std::string>>(const std::vector<std::string>&)>;

  // InvalidArgument naming the setting for a bad URL (not http(s), or http to a non-loopback host), an empty
  // model or non-positive limits.
  static Result<std::unique_ptr<Summarizer>> Create(SummarizerOptions options,
                                                    std::unique_ptr<net::HttpClient> http = nullptr);
  // From the LLM_SUMMARY_* settings (SummarizerSettings); nullptr when summaries are off
  // (ENABLE_LLM_SUMMARY_GENERATION false, or vector-only mode, where they are not made).
  static Result<std::unique_ptr<Summarizer>> FromConfig(const Config& config);

  // Summarizes one ticket document's thread.
  Result<ThreadSummary> Summarize(const Document& ticket);

  // For every "ticket" document of `documents` whose stored summary is missing or stale: calls the model
  // and appends the summary document to `documents` and its record to `summary_records` (their hashes are
  // final: the caller must not rehash them). A failure becomes a dead letter in write.dead_letters. Summaries
  // of tickets no longer active, and of ids in write.removed_ids, are added to write.removed_ids. Only a
  // failing `stored_hashes` lookup is returned as an error.
  Result<void> AddSummaries(const std::string& stream, std::vector<Document>& documents,
                            std::vector<Record>& summary_records, BatchWrite& write,
                            const HashLookup& stored_hashes);

  // A stop flag (the runner's graceful stop, may be null): once set, threads not yet sent are not summarized
  // but dead-lettered (Cancelled), so a stopping run is not held up by the model. Set before use.
  void set_stop(const std::atomic<bool>* stop) { stop_ = stop; }

  // Calls made so far (retries included) and summaries made, for logs and tests.
  int64_t requests_sent() const { return requests_.load(); }
  int64_t summaries_made() const { return made_.load(); }

  const SummarizerOptions& options() const { return options_; }

  ~Summarizer();

 private:
  Summarizer(SummarizerOptions options, std::unique_ptr<net::HttpClient> http);

  SummarizerOptions options_;
  std::unique_ptr<net::HttpClient> http_;
  // Retries and waits of every request (a 429 pauses the others of this summarizer).
  std::unique_ptr<net::AccountRequester> requester_;
  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> made_{0};
  std::atomic<int> consecutive_failures_{0};
  const std::atomic<bool>* stop_ = nullptr;
};

// The id of a ticket's summary record and document: "{ticket id}/summary".
std::string SummaryDocumentId(const std::string& ticket_id);

// The content hash a summary of `ticket` made by `model` carries: a function of the model and of the
// thread's text only (transforms::DocumentContentHash), so an unchanged thread is never summarized again.
std::string SummaryContentHash(const std::string& model, const Document& ticket);

// The user message sent for `ticket`: its subject and every labelled message, cut to `max_chars` by keeping
// the start and the end (on UTF-8 boundaries).
std::string SummaryPrompt(const Document& ticket, size_t max_chars);

}  // namespace deskpipe
