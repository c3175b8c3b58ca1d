#include "transforms/thread.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "core/hash.h"
#include "transforms/html_to_text.h"

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

std::string_view ConversationRole(const Record& conversation) {
  std::string_view role = MetadataString(conversation.metadata, "role");
  if (!role.empty()) return role;
  if (MetadataTrue(conversation.metadata, "private")) return kRolePrivateNote;
  if (MetadataTrue(conversation.metadata, "incoming")) return kRoleCustomer;
  return kRoleAgent;
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
  std::string scratch;
  std::string_view text;
  if (RecordText(ticket, scratch, text)) {
    text = Trim(text);
    if (!text.empty()) {
      std::string_view role = MetadataString(ticket.metadata, "role");
      document.sections.push_back({std::string(role.empty() ? kRoleCustomer : role), std::string(text)});
    }
  }
  bool has_private = document.sections.size() == 1 && document.sections[0].label == kRolePrivateNote;
  for (const Record* conversation : ordered) {
    if (conversation->updated_at > document.updated_at) document.updated_at = conversation->updated_at;
    if (!RecordText(*conversation, scratch, text)) continue;
    text = Trim(text);
    if (text.empty()) continue;
    const std::string_view role = ConversationRole(*conversation);
    if (role == kRolePrivateNote || MetadataTrue(conversation->metadata, "private")) has_private = true;
    document.sections.push_back({std::string(role), std::string(text)});
  }
  document.metadata["has_private"] = has_private;
  document.metadata["message_count"] = document.sections.size();
  document.content_hash = DocumentContentHash(document);
  return document;
}

Document BuildArticleDocument(const Record& article) {
  Document document = StartDocument(article);
  std::string scratch;
  std::string_view text;
  if (RecordText(article, scratch, text)) document.sections = SplitAtHeadings(text);
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
