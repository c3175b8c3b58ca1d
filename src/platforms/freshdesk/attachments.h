// Attachment downloads for the Freshdesk source (API.md §7.3). Freshdesk lists attachments with pre-signed
// S3 URLs that live about 300 s, so they are fetched right after the page that listed them; the URL itself
// is never kept. An expired URL (403 from the bucket) is re-signed by re-fetching the parent object (the
// caller's `resign` callback) and tried once more. The declared size is checked against the limit before any
// byte is downloaded; the downloaded size is checked again. The Freshdesk API key is never sent: the
// request carries no credentials. Failures are recorded on the Attachment (download_error), never fatal.
//
// Not thread-safe; one instance per source. The HttpClient must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/record.h"
#include "core/status.h"
#include "net/http_client.h"

namespace deskpipe::freshdesk {

// An attachment as listed, with the short-lived URL needed to download it.
struct AttachmentRef {
  Attachment attachment;  // id, name, declared_type, size filled
  std::string url;
};

// The `attachments` array of a ticket, conversation or article (elements without an id are ignored; `size`
// or `file_size`).
std::vector<AttachmentRef> ParseAttachments(const nlohmann::json& parent);

struct AttachmentOptions {
  int64_t max_bytes = 20 * 1024 * 1024;  // Freshdesk caps a ticket's attachments at 20 MB (API.md §7.3)
  std::chrono::milliseconds timeout{120000};
};

struct AttachmentStats {
  int64_t downloaded = 0;
  int64_t bytes = 0;
  int64_t resigned = 0;  // URLs that had expired and were re-signed through the parent
  int64_t refused = 0;   // over the size limit
  int64_t failed = 0;
};

class AttachmentDownloader {
 public:
  // Re-fetches the parent object and returns its attachments with fresh URLs.
  using Resigner = std::function<Result<std::vector<AttachmentRef>>()>;

  AttachmentDownloader(net::HttpClient& http, AttachmentOptions options) : http_(http), options_(options) {}

  // Downloads each ref and returns the attachments (bytes + content_hash, or download_error). `resign` may
  // be empty (then an expired URL is a download_error).
  std::vector<Attachment> DownloadAll(std::vector<AttachmentRef> refs, const Resigner& resign);

  const AttachmentStats& stats() const { return stats_; }
  const AttachmentOptions& options() const { return options_; }

 private:
  // HTTP status of the attempt (0 on a transport error, which sets *error).
  long Fetch(const std::string& url, Attachment& attachment, std::string* error);

  net::HttpClient& http_;
  AttachmentOptions options_;
  AttachmentStats stats_;
};

}  // namespace deskpipe::freshdesk
