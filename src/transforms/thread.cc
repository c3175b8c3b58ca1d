#include "transforms/thread.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/hash.h"
#include "transforms/html_to_text.h"
#include "transforms/message_cleaning.h"

namespace deskpipe::transforms {
namespace {

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// metadata[key] when it is a non-empty string, else empty.
std::string_view MetadataString(const nlohmann::json& metadata, const char* key) {
  if (!metadata.is_object()) return {};
  auto it = metadata.find(key);
  if (it == metadata.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

bool MetadataTrue(const nlohmann::json& metadata, const char* key) {
  if (!metadata.is_object()) return false;
  auto it = metadata.find(key);
  return it != metadata.end() && it->is_boolean() && it->get<bool>();
}

// The record's text, converting HTML still flagged as such. False when it cannot be converted.
bool RecordText(const Record& record, std::string& scratch, std::string_view& text) {
  if (!record.content_is_html) {
    text = record.content;
    return true;
  }
  auto converted = HtmlToText(record.content);
  if (!converted) return false;
  scratch = std::move(*converted);
  text = scratch;
  return true;
}

// The id the record's metadata holds under `key` as a string ("123" for 123), else empty.
std::string MetadataId(const nlohmann::json& metadata, const char* key) {
  if (!metadata.is_object()) return {};
  auto it = metadata.find(key);
  if (it == metadata.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

// The ticket's requester id: metadata "requester_id", or "requester"."id".
std::string RequesterId(const Record& ticket) {
  std::string id = MetadataId(ticket.metadata, "requester_id");
  if (id.empty() && ticket.metadata.is_object()) {
    auto it = ticket.metadata.find("requester");
    if (it != ticket.metadata.end() && it->is_object()) id = MetadataId(*it, "id");
  }
  return id;
}

std::string_view ConversationRole(const Record& conversation, const std::string& requester_id) {
  std::string_view role = MetadataString(conversation.metadata, "role");
  if (!role.empty()) return role;
  if (MetadataTrue(conversation.metadata, "private")) return kRolePrivateNote;
  if (MetadataTrue(conversation.metadata, "incoming")) return kRoleCustomer;
  // An outgoing message written by the requester (a reply from the customer portal) is still the customer's.
  if (!requester_id.empty() && MetadataId(conversation.metadata, "user_id") == requester_id)
    return kRoleCustomer;
  return kRoleAgent;
}

// Sections for a message's attachments that have extracted text: one per file, its text preceded by a
// provenance line. Files whose content hash is in `seen` (already in this document) are skipped.
void AppendAttachments(const Record& record, std::string_view message_label, std::vector<Section>& sections,
                       std::unordered_set<std::string>& seen) {
  for (const Attachment& attachment : record.attachments) {
    if (!attachment.extract_error.empty() || !attachment.download_error.empty()) continue;
    std::string_view text = Trim(attachment.extracted_text);
    if (text.empty()) continue;
    const std::string key =
        attachment.content_hash.empty() ? HashHex(attachment.extracted_text) : attachment.content_hash;
    if (!seen.insert(key).second) continue;
    std::string name = RepairUtf8(attachment.name.empty() ? std::string("unnamed") : attachment.name);
    for (char& c : name) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    std::string body = "Attachment " + name;
    if (!attachment.detected_type.empty()) body += " (" + attachment.detected_type + ")";
    body += ":\n";
    body += text;
    std::string label = message_label.empty()
                            ? std::string(kAttachmentLabel)
                            : std::string(message_label) + " " + std::string(kAttachmentLabel);
    sections.push_back({std::move(label), std::move(body)});
  }
}

// Fields every document takes from its record.
Document StartDocument(const Record& record) {
  Document document;
  document.id = record.id;
  document.tenant_id = record.tenant_id;
  document.platform = record.platform;
  document.type = record.type;
  document.title = record.title;
  document.updated_at = record.updated_at;
  std::string_view state = MetadataString(record.metadata, "state");
  if (!state.empty()) document.state = std::string(state);
  if (record.metadata.is_object()) document.metadata = record.metadata;
  auto set_if = [&](const char* key, const std::string& value) {
    if (!value.empty()) document.metadata[key] = value;
  };
  set_if("status", record.status);
  set_if("priority", record.priority);
  set_if("created_at", record.created_at);
  set_if("updated_at", record.updated_at);
  set_if("original_id", record.original_id);
  return document;
}

bool ConversationBefore(const Record* a, const Record* b) {
  if (a->created_at != b->created_at) return a->created_at < b->created_at;
  if (a->id.size() != b->id.size()) return a->id.size() < b->id.size();
  return a->id < b->id;
}

}  // namespace

Result<void> ConvertRecordContent(Record& record) {
  if (record.content_is_html) {
    auto text = HtmlToText(record.content);
    if (!text) {
      return Error(InvalidRecord("record " + record.id +
                                 ": cannot convert its HTML content: " + text.error().message()));
    }
    record.content = std::move(*text);
    record.content_is_html = false;
  } else if (!IsValidUtf8(record.content)) {
    record.content = RepairUtf8(record.content);
  }
  if (!IsValidUtf8(record.title)) record.title = RepairUtf8(record.title);
  return {};
}

std::string DocumentContentHash(const Document& document) {
  HashBuilder hash;
  hash.Add(document.title).Add(document.state);
  for (const Section& section : document.sections) hash.Add(section.label).Add(section.text);
  return hash.Hex();
}

Document BuildTicketDocument(const Record& ticket, std::span<const Record* const> conversations) {
  Document document = StartDocument(ticket);
  std::vector<const Record*> ordered;
  ordered.reserve(conversations.size());
  for (const Record* conversation : conversations) {
    if (conversation != nullptr && conversation->parent_id == ticket.id) ordered.push_back(conversation);
  }
  std::sort(ordered.begin(), ordered.end(), ConversationBefore);

  document.sections.reserve(ordered.size() + 1);
  std::unordered_set<std::string> attachments_seen;
  std::string scratch;
  std::string_view text;
  std::string description;
  std::string_view ticket_role = MetadataString(ticket.metadata, "role");
  if (ticket_role.empty()) ticket_role = kRoleCustomer;
  if (RecordText(ticket, scratch, text)) {
    description = CleanMessageText(text);
    if (!description.empty()) document.sections.push_back({std::string(ticket_role), description});
  }
  AppendAttachments(ticket, ticket_role, document.sections, attachments_seen);
  bool has_private = ticket_role == kRolePrivateNote;
  int messages = description.empty() ? 0 : 1;
  const std::string requester_id = RequesterId(ticket);
  bool first = true;
  for (const Record* conversation : ordered) {
    if (conversation->updated_at > document.updated_at) document.updated_at = conversation->updated_at;
    const std::string_view role = ConversationRole(*conversation, requester_id);
    const bool is_private = role == kRolePrivateNote || MetadataTrue(conversation->metadata, "private");
    const bool was_first = first;
    first = false;
    std::string cleaned;
    if (RecordText(*conversation, scratch, text)) cleaned = CleanMessageText(text);
    // A chat (or a ticket created from a first message) repeats that message as its description: index it
    // once.
    const bool repeats_description =
        was_first && !description.empty() && SameTextIgnoringWhitespace(cleaned, description);
    if (!cleaned.empty() && !repeats_description) {
      document.sections.push_back({std::string(role), std::move(cleaned)});
      ++messages;
      if (is_private) has_private = true;
    }
    const size_t before = document.sections.size();
    AppendAttachments(*conversation, role, document.sections, attachments_seen);
    if (is_private && document.sections.size() > before) has_private = true;
  }
  document.metadata["has_private"] = has_private;
  document.metadata["message_count"] = messages;
  document.content_hash = DocumentContentHash(document);
  return document;
}

Document BuildArticleDocument(const Record& article) {
  Document document = StartDocument(article);
  std::string scratch;
  std::string_view text;
  if (RecordText(article, scratch, text)) document.sections = SplitAtHeadings(text);
  std::unordered_set<std::string> attachments_seen;
  AppendAttachments(article, "", document.sections, attachments_seen);
  document.metadata["has_private"] = false;
  document.content_hash = DocumentContentHash(document);
  return document;
}

std::vector<Document> BuildDocuments(const std::vector<Record>& records) {
  // Last occurrence of each id wins.
  std::unordered_map<std::string_view, size_t> last;
  last.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) last[records[i].id] = i;
  auto is_last = [&](size_t i) { return last.find(records[i].id)->second == i; };

  std::unordered_map<std::string_view, std::vector<const Record*>> conversations;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& record = records[i];
    if (record.type == "conversation" && !record.parent_id.empty() && is_last(i)) {
      conversations[record.parent_id].push_back(&record);
    }
  }

  std::vector<Document> documents;
  std::unordered_map<std::string_view, size_t> emitted;  // id → index in documents
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& record = records[i];
    const bool ticket = record.type == "ticket";
    if (!ticket && record.type != "article") continue;
    // Keep the position of the first occurrence, the values of the last.
    auto [slot, inserted] = emitted.try_emplace(record.id, documents.size());
    if (!inserted) continue;
    const Record& latest = records[last.find(record.id)->second];
    if (latest.type != record.type) {  // the id changed type within the batch: take the latest as it is
      emitted.erase(slot);
      continue;
    }
    if (ticket) {
      auto it = conversations.find(latest.id);
      static const std::vector<const Record*> kNone;
      const std::vector<const Record*>& thread = it == conversations.end() ? kNone : it->second;
      documents.push_back(BuildTicketDocument(latest, thread));
    } else {
      documents.push_back(BuildArticleDocument(latest));
    }
  }
  return documents;
}

std::vector<Section> SplitAtHeadings(std::string_view text) {
  std::vector<Section> sections;
  std::string label;                           // of the section being collected
  int level = 0;                               // its heading level (0: before any heading)
  size_t body_begin = 0;                       // where its text starts
  auto close = [&](size_t body_end) -> bool {  // true when the section had text
    std::string_view body = Trim(text.substr(body_begin, body_end - body_begin));
    if (body.empty()) return false;
    sections.push_back({label, std::string(body)});
    return true;
  };

  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = text.substr(pos, eol - pos);
    int hashes = 0;
    while (hashes < static_cast<int>(line.size()) && line[static_cast<size_t>(hashes)] == '#') ++hashes;
    std::string_view heading;
    if (hashes >= 1 && hashes <= 6 && static_cast<size_t>(hashes) < line.size() &&
        line[static_cast<size_t>(hashes)] == ' ') {
      heading = Trim(line.substr(static_cast<size_t>(hashes) + 1));
    }
    if (!heading.empty()) {
      const bool had_text = close(pos);
      if (!had_text && level > 0 && level < hashes) {
        label += " > ";
        label += heading;
      } else {
        label.assign(heading);
      }
      level = hashes;
      body_begin = eol;
    }
    pos = eol + 1;
  }
  close(text.size());
  return sections;
}

}  // namespace deskpipe::transforms
