#include "pipeline/summarizer.h"

#include <algorithm>
#include <cctype>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/hash.h"
#include "core/json_text.h"
#include "core/log.h"
#include "net/account_requester.h"
#include "net/api_error.h"
#include "net/url.h"
#include "pipeline/summarizer_settings.h"
#include "transforms/thread.h"

namespace deskpipe {
namespace {

using std::chrono::milliseconds;

// Bumped when the prompt changes, so every thread is summarized again with the new one.
constexpr char kPromptVersion[] = "ticket-summary/v1";

constexpr char kSystemPrompt[] =
    "You summarize customer-support ticket threads for the support agents who will pick them up. In 2 to 4 "
    "plain sentences, say what the customer needs, what has been tried or answered so far, and what is still "
    "open. Use only facts from the thread. No preamble, no lists, no markdown.";

// The longest prefix of `text` of at most `max_bytes` that does not split a UTF-8 sequence.
size_t Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text.size();
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return end;
}

// Where a suffix of at most `max_bytes` may start without splitting a UTF-8 sequence.
size_t Utf8SuffixStart(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return 0;
  size_t begin = text.size() - max_bytes;
  while (begin < text.size() && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) ++begin;
  return begin;
}

std::string StringField(const nlohmann::json& object, const char* key, const std::string& fallback = "") {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::string Trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

std::string SummaryDocumentId(const std::string& ticket_id) { return ticket_id + "/summary"; }

std::string SummaryContentHash(const std::string& model, const Document& ticket) {
  return HashBuilder().Add(kPromptVersion).Add(model).Add(transforms::DocumentContentHash(ticket)).Hex();
}

std::string SummaryPrompt(const Document& ticket, size_t max_chars) {
  std::string prompt = "Subject: " + ticket.title + "\n";
  for (const Section& section : ticket.sections) {
    prompt += "\n[" + section.label + "]\n" + section.text + "\n";
  }
  if (prompt.size() <= max_chars) return prompt;
  // The opening states the problem and the end its current state: keep both, elide the middle.
  static constexpr std::string_view kElided = "\n[… earlier messages elided …]\n";
  const size_t budget = max_chars > kElided.size() ? max_chars - kElided.size() : 0;
  const size_t head = Utf8Prefix(prompt, budget * 2 / 3);
  const size_t tail_start = Utf8SuffixStart(prompt, budget - head);
  return prompt.substr(0, head) + std::string(kElided) + prompt.substr(std::max(tail_start, head));
}

namespace {

// The chat-completions endpoint as an account: a 429 waits its Retry-After (up to max_retry_after) and
// pauses this summarizer's other requests; every failure counts among max_attempts.
net::AccountPolicy ChatCompletionsPolicy(const SummarizerOptions& options) {
  net::AccountPolicy policy;
  policy.base_url = options.base_url;
  policy.read_retry_after = net::RetryAfterOf;
  policy.retry.max_attempts = options.max_attempts;
  policy.retry.backoff_base = options.retry_backoff;
  policy.retry.backoff_max = std::chrono::hours(1);
  policy.retry.backoff_jitter = 0;
  policy.retry.default_retry_after.reset();  // no Retry-After: back off
  policy.retry.retry_after_jitter = milliseconds(0);
  policy.max_retry_after = options.max_retry_after;
  policy.budget.probe_first = false;
  policy.budget.max_in_flight = 1 << 20;  // each AddSummaries call bounds its own concurrency
  policy.clock = options.clock;
  return policy;
}

}  // namespace

Summarizer::Summarizer(SummarizerOptions options, std::unique_ptr<net::HttpClient> http)
    : options_(std::move(options)),
      http_(std::move(http)),
      requester_(std::make_unique<net::AccountRequester>(ChatCompletionsPolicy(options_))) {}

Summarizer::~Summarizer() = default;

Result<std::unique_ptr<Summarizer>> Summarizer::Create(SummarizerOptions options,
                                                       std::unique_ptr<net::HttpClient> http) {
  while (!options.base_url.empty() && options.base_url.back() == '/') options.base_url.pop_back();
  const auto url = net::ParseUrl(options.base_url);
  if (!url || (url->scheme != "http" && url->scheme != "https")) {
    return Error(InvalidArgument("llm_summary_url '" + options.base_url +
                                 "' is not an http(s) URL such as https://api.openai.com/v1"));
  }
  if (url->scheme == "http" && !net::IsLoopbackHost(url->host)) {
    return Error(InvalidArgument("llm_summary_url '" + options.base_url +
                                 "': plain http is allowed only to a loopback host (the API key would travel "
                                 "in clear); use https"));
  }
  if (options.model.empty()) return Error(InvalidArgument("llm_summary_model is empty"));
  if (options.timeout.count() <= 0 || options.concurrency < 1 || options.max_attempts < 1 ||
      options.max_consecutive_failures < 1 || options.max_input_chars < 256 || options.max_summary_chars < 1) {
    return Error(InvalidArgument("LLM summarizer: timeout, concurrency, attempts and limits must be positive"));
  }
  if (!http) http = net::MakeCurlHttpClient();
  return std::unique_ptr<Summarizer>(new Summarizer(std::move(options), std::move(http)));
}

Result<std::unique_ptr<Summarizer>> Summarizer::FromConfig(const Config& config) {
  if (!config.llm_summary) return std::unique_ptr<Summarizer>();
  if (config.full_streaming_mode) {
    log::Warn("ENABLE_LLM_SUMMARY_GENERATION is ignored in vector-only mode (ENABLE_FULL_STREAMING_MODE)");
    return std::unique_ptr<Summarizer>();
  }
  const SummarizerSettings settings = SummarizerSettings::FromConfig(config);
  SummarizerOptions options;
  options.base_url = settings.url;
  options.api_key = settings.api_key;
  options.model = settings.model;
  options.timeout = milliseconds(static_cast<int64_t>(settings.timeout_seconds * 1000));
  options.concurrency = settings.max_concurrent;
  return Create(std::move(options));
}

Result<ThreadSummary> Summarizer::Summarize(const Document& ticket) {
  const std::string what = "ticket " + ticket.id;
  if (stop_ != nullptr && stop_->load()) {
    return Error(Cancelled("a stop was requested before " + what + " was summarized"));
  }
  if (consecutive_failures_.load() >= options_.max_consecutive_failures) {
    return Error(Unavailable("summarizer endpoint skipped for " + what + ": it failed " +
                             std::to_string(options_.max_consecutive_failures) +
                             " times in a row in this run"));
  }
  nlohmann::json body = {
      {"model", options_.model},
      {"messages", nlohmann::json::array({{{"role", "system"}, {"content", kSystemPrompt}},
                                          {{"role", "user"}, {"content", SummaryPrompt(ticket, options_.max_input_chars)}}})},
      {"temperature", 0},
      {"max_tokens", options_.max_output_tokens}};
  net::HttpRequest request;
  request.method = "POST";
  request.url = options_.base_url + "/chat/completions";
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("Accept", "application/json");
  if (!options_.api_key.empty()) request.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
  // Thread text may carry invalid UTF-8 from a platform: replace it rather than fail the dump.
  request.body = CompactJson(body);
  request.timeout = options_.timeout;

  ThreadSummary summary;
  net::ResponseReader reader;
  reader.classify = [&](const Result<net::HttpResponse>& response) -> Status {
    ++requests_;
    if (!response) {
      return Status(response.error().code(), log::MaskSecret(response.error().message(), options_.api_key))
          .WithContext("summarizing " + what);
    }
    if (response->status >= 200 && response->status < 300) return Status::Ok();
    return net::ClassifyHttpStatus(response->status,
                                   "summarizer endpoint answered HTTP " + std::to_string(response->status) +
                                       " for " + what + ": " +
                                       net::ServerErrorMessage(response->body, options_.api_key),
                                   "LLM_SUMMARY_API_KEY");
  };
  reader.take = [&](net::HttpResponse& response) -> Status {
    auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    const nlohmann::json* content = nullptr;
    if (json.is_object() && json.contains("choices") && json["choices"].is_array() && !json["choices"].empty()) {
      const auto& choice = json["choices"][0];
      if (choice.is_object() && choice.contains("message") && choice["message"].is_object()) {
        auto it = choice["message"].find("content");
        if (it != choice["message"].end() && it->is_string()) content = &*it;
      }
    }
    if (content == nullptr) {
      return InvalidRecord("malformed chat-completions response for " + what +
                           ": no choices[0].message.content string (" +
                           net::ServerErrorMessage(response.body, options_.api_key) + ")");
    }
    summary.text = Trimmed(content->get_ref<const std::string&>());
    if (summary.text.empty()) return InvalidRecord("the summarizer returned an empty summary for " + what);
    summary.text.resize(Utf8Prefix(summary.text, options_.max_summary_chars));
    if (json.contains("usage") && json["usage"].is_object()) summary.usage = json["usage"];
    return Status::Ok();
  };
  net::SendOutcome outcome = requester_->Send(*http_, request, net::RequestTicket{}, what, reader);
  if (outcome.ok()) {
    consecutive_failures_ = 0;
    ++made_;
    return summary;
  }
  Status last = outcome.status;
  // A malformed answer says the endpoint is up; only transport, 5xx and 429 count towards "down".
  if (last.code() == StatusCode::kUnavailable || last.code() == StatusCode::kRateLimited ||
      last.code() == StatusCode::kUnauthenticated) {
    ++consecutive_failures_;
  }
  if (options_.max_attempts > 1 &&
      (last.code() == StatusCode::kUnavailable || last.code() == StatusCode::kRateLimited)) {
    last = last.WithContext("gave up after " + std::to_string(options_.max_attempts) + " attempts");
  }
  return Error(last);
}

Result<void> Summarizer::AddSummaries(const std::string& stream, std::vector<Document>& documents,
                                      std::vector<Record>& summary_records, BatchWrite& write,
                                      const HashLookup& stored_hashes) {
  // A removed ticket takes its summary with it.
  const size_t removed = write.removed_ids.size();
  for (size_t i = 0; i < removed; ++i) write.removed_ids.push_back(SummaryDocumentId(write.removed_ids[i]));

  std::vector<size_t> tickets;
  std::vector<std::string> summary_ids;
  for (size_t i = 0; i < documents.size(); ++i) {
    if (documents[i].type != "ticket") continue;
    tickets.push_back(i);
    summary_ids.push_back(SummaryDocumentId(documents[i].id));
  }
  if (tickets.empty()) return {};
  ASSIGN_OR_RETURN(auto stored, stored_hashes(summary_ids));

  struct Job {
    size_t document = 0;
    std::string hash;
    Result<ThreadSummary> summary = Error(Internal("not run"));
  };
  std::vector<Job> jobs;
  for (size_t k = 0; k < tickets.size(); ++k) {
    const Document& ticket = documents[tickets[k]];
    const auto it = stored.find(summary_ids[k]);
    if (ticket.state != "active" || ticket.sections.empty()) {
      // Trashed, spam or archived (or nothing to say): no summary; drop one made while it was active.
      if (it != stored.end()) write.removed_ids.push_back(summary_ids[k]);
      continue;
    }
    std::string hash = SummaryContentHash(options_.model, ticket);
    if (it != stored.end() && it->second == hash) continue;  // the thread did not change since its summary
    jobs.push_back(Job{tickets[k], std::move(hash)});
  }
  if (jobs.empty()) return {};

  // Network waits: up to `concurrency` requests at once, so a batch costs about one request's time per
  // `concurrency` threads rather than one per thread.
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t j = next.fetch_add(1); j < jobs.size(); j = next.fetch_add(1)) {
      jobs[j].summary = Summarize(documents[jobs[j].document]);
    }
  };
  const size_t threads = std::min(jobs.size(), static_cast<size_t>(options_.concurrency));
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 0; t + 1 < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& thread : pool) thread.join();

  std::vector<Document> made;
  for (Job& job : jobs) {
    const Document& ticket = documents[job.document];
    if (!job.summary) {
      const Status& error = job.summary.error();
      write.dead_letters.push_back(
          {stream, ticket.id, "summarize", std::string(StatusCodeName(error.code())), error.message()});
      continue;
    }
    Document summary;
    summary.id = SummaryDocumentId(ticket.id);
    summary.tenant_id = ticket.tenant_id;
    summary.platform = ticket.platform;
    summary.type = kTicketSummaryType;
    summary.title = ticket.title;
    summary.state = ticket.state;
    summary.updated_at = ticket.updated_at;
    summary.sections.push_back({"summary", job.summary->text});
    summary.metadata = {{"ticket_id", ticket.id},
                        {"model", options_.model},
                        {"has_private", ticket.metadata.contains("has_private") &&
                                            ticket.metadata["has_private"].is_boolean() &&
                                            ticket.metadata["has_private"].get<bool>()}};
    for (const char* key : {"original_id", "created_at", "url"}) {
      if (auto it = ticket.metadata.find(key); it != ticket.metadata.end()) summary.metadata[key] = *it;
    }
    summary.content_hash = job.hash;

    Record record;
    record.id = summary.id;
    record.original_id = StringField(ticket.metadata, "original_id", ticket.id) + "/summary";
    record.tenant_id = ticket.tenant_id;
    record.platform = ticket.platform;
    record.type = kTicketSummaryType;
    record.title = ticket.title;
    record.content = job.summary->text;
    record.parent_id = ticket.id;
    record.created_at = StringField(ticket.metadata, "created_at");
    record.updated_at = ticket.updated_at;
    record.metadata = {{"model", options_.model}, {"summary_hash", job.hash}};
    record.raw = CompactJson({{"model", options_.model}, {"usage", job.summary->usage}});

    made.push_back(std::move(summary));
    summary_records.push_back(std::move(record));
  }
  for (Document& summary : made) documents.push_back(std::move(summary));
  return {};
}

}  // namespace deskpipe
