// Record → Document assembly (DESIGN §2): a ticket's searchable text is its thread (the description, then
// every conversation in order, each labelled with its speaker role); an article is one document split at its
// headings. Other record types (contacts, companies, agents, …) are stored as records but are not documents.
//
// Pure functions over values; thread-safe.
// Folder: transforms/ (text cleaning, thread assembly, chunking) may include core/ only (docs/ARCHITECTURE.md).
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "core/record.h"
#include "core/status.h"

namespace deskpipe::transforms {

// Section labels of a ticket thread.
inline constexpr std::string_view kRoleCustomer = "customer";
inline constexpr std::string_view kRoleAgent = "agent";
inline constexpr std::string_view kRolePrivateNote = "private note";
// An attachment's section is labelled "<role of its message> attachment" ("attachment" for articles).
inline constexpr std::string_view kAttachmentLabel = "attachment";

// When record.content_is_html: converts record.content to text with HtmlToText and clears the flag. Otherwise
// repairs invalid UTF-8 in record.content. Always repairs invalid UTF-8 in record.title. InvalidRecord naming
// the record id when the HTML cannot be converted.
Result<void> ConvertRecordContent(Record& record);

// Builds the searchable documents of one batch, in the order their records appear:
//  - one Document per "ticket" record: section 0 is the ticket's content (the description), labelled
//    metadata["role"] or "customer"; then every "conversation" record of the batch whose parent_id is the
//    ticket's id, ordered by (created_at, id) — ids of one ticket differ only in their number, which orders
//    numerically — each labelled metadata["role"], or when that is missing "private note" if
//    metadata["private"] is true, "customer" if metadata["incoming"] is true or metadata["user_id"] is the
//    ticket's requester (metadata["requester_id"] or ["requester"]["id"]), else "agent". Every message is
//    cleaned with CleanMessageText (quoted history and signatures removed; see message_cleaning.h). Messages
//    left empty are skipped, and so is a first conversation that repeats the description (chat tickets). A
//    ticket's conversations must be in the same batch as the ticket.
//  - after each message, one section per attachment of that record with extracted text (see
//    extract/extract.h), labelled "<role> attachment", its text preceded by the provenance line
//    "Attachment <file name> (<detected type>):"; a file whose content hash already appeared in the
//    document is not repeated; attachments with an extract_error or download_error add nothing.
//  - one Document per "article" record, split into sections at its "# Heading" lines (see SplitAtHeadings),
//    then its attachments as above (label "attachment").
//  - nothing for other types.
// A record id seen twice in the batch counts once, with its last occurrence's values.
// Records are expected to have passed ConvertRecordContent; content still flagged as HTML is converted here
// (dropped if it cannot be).
//
// Document fields: id = the record id; tenant_id, platform, type, title from the record; updated_at = the
// latest updated_at of the ticket and its conversations; state = metadata["state"] if it is a string, else
// "active"; metadata = the record's metadata plus "status", "priority", "created_at", "updated_at",
// "original_id" (each when non-empty), "has_private" (true when a private note or its attachment is in the
// thread; always set) and, for tickets, "message_count" (messages indexed, attachments not counted);
// content_hash = HashBuilder over title, state and every (label, text).
// Chunks are left empty.
std::vector<Document> BuildDocuments(const std::vector<Record>& records);

// The document of one ticket and its conversations (any order; those with another parent_id are ignored).
Document BuildTicketDocument(const Record& ticket, std::span<const Record* const> conversations);

// The document of one article.
Document BuildArticleDocument(const Record& article);

// Splits text at Markdown-style heading lines ("#".."######", a space, the heading) as HtmlToText writes
// them: text before the first heading is a section with an empty label; each heading labels the text up to
// the next heading. A heading with no text of its own directly followed by a deeper one is joined into the
// deeper one's label ("Setup > Step 1"); other empty sections are dropped. Section texts are trimmed.
std::vector<Section> SplitAtHeadings(std::string_view text);

// HashBuilder over title, state and every section's label and text.
std::string DocumentContentHash(const Document& document);

}  // namespace deskpipe::transforms
