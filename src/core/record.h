// The platform-neutral data that flows down the pipeline: Record (what a platform adapter emits), Document
// (what transforms build from records: one searchable unit) and Chunk (what is embedded and indexed).
// Plain value types; not synchronized.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace deskpipe {

// A file attached to a ticket, conversation or article. The source downloads the bytes; the extract stage
// fills the text (or the reason it could not) before threads are assembled.
struct Attachment {
  std::string id;             // the platform's attachment id
  std::string name;           // file name as uploaded (untrusted)
  std::string declared_type;  // content type the platform claims (untrusted: extraction sniffs the bytes)
  int64_t size = 0;           // as the platform reports it, checked against limits before download
  std::string content_hash;   // hex xxh3-64 of bytes; equal bytes are stored and extracted once
  std::string bytes;          // downloaded content; empty if not downloaded (then download_error says why)
  std::string download_error;
  std::string detected_type;   // filled by extraction: MIME type sniffed from the bytes
  std::string extracted_text;  // filled by extraction
  std::string extract_error;   // filled by extraction when the file was refused or failed
};

// One normalized object read from a platform (DESIGN §2).
struct Record {
  std::string id;           // {tenant_id}_{platform}_{original_id}
  std::string original_id;  // "123" for ticket 123; "conversation-789", "article-456", … for other types
  std::string tenant_id;
  std::string platform;
  std::string type;  // "ticket", "conversation", "article", "contact", "company", "agent", "group", …
  std::string title;
  std::string content;  // this record's own text; HTML until transforms convert it (see content_is_html)
  bool content_is_html = false;
  std::string status;   // "open", "pending", "resolved", "closed", a custom label, "published", "draft", …
  std::string priority;  // "low", "medium", "high", "urgent"; empty where not applicable
  std::string created_at;  // UTC ISO-8601, whole seconds: 2025-03-11T09:42:17Z
  std::string updated_at;
  std::string parent_id;   // a conversation's ticket document id; empty otherwise
  nlohmann::json metadata = nlohmann::json::object();  // role, private, visibility, tags, names, url, …
  std::string raw;  // the payload as the platform sent it, as JSON text (CompactJson); "" when none
  std::vector<Attachment> attachments;
};

// A block of a document's text that chunking keeps together where it can: one message of a thread, or one
// heading's section of an article.
struct Section {
  std::string label;  // "customer", "agent", "private note", a heading; may be empty
  std::string text;
};

// A chunk of a document, embedded and indexed.
struct Chunk {
  std::string id;  // {document_id}#{index}
  int index = 0;
  std::string text;          // what is embedded and keyword-indexed (title prefix included)
  std::string content_hash;  // 16 hex digits (xxh3-64 of text); unchanged text ⇒ unchanged hash
  std::vector<float> vector;  // L2-normalized; filled by the embed stage
};

// One searchable unit: a ticket's whole thread, an article, … Built by transforms from records.
struct Document {
  std::string id;  // the record id of the ticket / article it was built from
  std::string tenant_id;
  std::string platform;
  std::string type;
  std::string title;
  std::string state = "active";  // "active", "deleted", "spam", "archived"
  std::string updated_at;
  std::vector<Section> sections;
  nlohmann::json metadata = nlohmann::json::object();
  std::string content_hash;  // over title + sections + state
  std::vector<Chunk> chunks;  // filled by the chunk stage
};

}  // namespace deskpipe
