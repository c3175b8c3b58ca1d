#include "platforms/freshdesk/attachments.h"

#include <optional>
#include <utility>

#include "core/hash.h"

namespace deskpipe::freshdesk {
namespace {

using nlohmann::json;

std::string IdString(const json& value) {
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  if (value.is_string()) return value.get<std::string>();
  return "";
}

std::string Str(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool IsHttpUrl(const std::string& url) { return url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0; }

}  // namespace

std::vector<AttachmentRef> ParseAttachments(const json& parent) {
  std::vector<AttachmentRef> out;
  if (!parent.is_object()) return out;
  auto list = parent.find("attachments");
  if (list == parent.end() || !list->is_array()) return out;
  for (const auto& item : *list) {
    if (!item.is_object()) continue;
    AttachmentRef ref;
    ref.attachment.id = IdString(item.value("id", json()));
    if (ref.attachment.id.empty()) continue;
    ref.attachment.name = Str(item, "name");
    ref.attachment.declared_type = Str(item, "content_type");
    for (const char* key : {"size", "file_size"}) {
      auto size = item.find(key);
      if (size != item.end() && size->is_number_integer()) {
        ref.attachment.size = size->get<int64_t>();
        break;
      }
    }
    ref.url = Str(item, "attachment_url");
    out.push_back(std::move(ref));
  }
  return out;
}

long AttachmentDownloader::Fetch(const std::string& url, Attachment& attachment, std::string* error) {
  net::HttpRequest request;
  request.url = url;
  request.timeout = options_.timeout;
  // No Authorization header: the URL is pre-signed and the API key must not leave for another host.
  auto response = http_.Send(request);
  if (!response) {
    *error = "download failed: " + response.error().message();
    return 0;
  }
  if (response->status == 200) attachment.bytes = std::move(response->body);
  return response->status;
}

std::vector<Attachment> AttachmentDownloader::DownloadAll(std::vector<AttachmentRef> refs, const Resigner& resign) {
  std::vector<Attachment> out;
  out.reserve(refs.size());
  std::optional<Result<std::vector<AttachmentRef>>> resigned;  // the parent re-fetched at most once
  for (AttachmentRef& ref : refs) {
    Attachment attachment = std::move(ref.attachment);
    const std::string label = "attachment " + attachment.id + " (" + attachment.name + ")";
    if (attachment.size > options_.max_bytes) {
      attachment.download_error = "not downloaded: declared size " + std::to_string(attachment.size) +
                                  " bytes exceeds the limit of " + std::to_string(options_.max_bytes);
      ++stats_.refused;
      out.push_back(std::move(attachment));
      continue;
    }
    if (!IsHttpUrl(ref.url)) {
      attachment.download_error = "not downloaded: no http(s) attachment_url";
      ++stats_.failed;
      out.push_back(std::move(attachment));
      continue;
    }
    std::string error;
    long status = Fetch(ref.url, attachment, &error);
    if ((status == 403 || status == 400) && resign) {
      // An expired signature: S3 answers 403 (AccessDenied / Request has expired). Ask the parent again.
      if (!resigned) resigned = resign();
      std::string fresh_url;
      if (*resigned) {
        for (const AttachmentRef& fresh : **resigned) {
          if (fresh.attachment.id == attachment.id) fresh_url = fresh.url;
        }
      }
      if (!*resigned) {
        error = "URL expired (HTTP " + std::to_string(status) +
                ") and re-fetching its parent failed: " + resigned->error().message();
      } else if (!IsHttpUrl(fresh_url)) {
        error = "URL expired (HTTP " + std::to_string(status) + ") and the parent no longer lists it";
      } else {
        ++stats_.resigned;
        status = Fetch(fresh_url, attachment, &error);
      }
    }
    if (status == 200) {
      if (static_cast<int64_t>(attachment.bytes.size()) > options_.max_bytes) {
        attachment.bytes.clear();
        attachment.download_error = "discarded: downloaded size exceeds the limit of " +
                                    std::to_string(options_.max_bytes) + " bytes";
        ++stats_.refused;
      } else {
        attachment.content_hash = HashHex(attachment.bytes);
        ++stats_.downloaded;
        stats_.bytes += static_cast<int64_t>(attachment.bytes.size());
      }
    } else {
      if (error.empty()) error = "download failed: HTTP " + std::to_string(status);
      attachment.download_error = label + ": " + error;
      ++stats_.failed;
    }
    out.push_back(std::move(attachment));
  }
  return out;
}

}  // namespace deskpipe::freshdesk
