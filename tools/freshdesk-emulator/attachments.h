// Real attachment files for the emulator, generated in-process: a PDF whose text layer holds a known sentence,
// a PNG that shows the sentence rendered with a real font (FreeType, DejaVu Sans) so OCR can read it, a DOCX
// (libzip) with the sentence as its paragraph, CSV and TXT; and, when asked for, a broken PDF (truncated, no
// xref) or hostile files: a DOCX that is a zip bomb with a path-traversal entry name, a PNG whose header
// claims 60000×60000 pixels. Also the signing of attachment URLs (expiring, keyed hash).
//
// Pure functions (the FreeType face is loaded once behind a mutex); thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "helpdesk.h"

namespace deskpipe::emulator {

// The bytes of a file of `kind` showing `text`. Unavailable when the PNG font cannot be loaded (the font
// path is $DESKPIPE_EMULATOR_FONT, else /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf).
Result<std::string> MakeAttachmentBytes(AttachmentKind kind, const std::string& text);

// MIME type and file extension Freshdesk would report for a kind (broken/hostile files pose as the real type).
const char* AttachmentContentType(AttachmentKind kind);
const char* AttachmentExtension(AttachmentKind kind);
// "pdf", "png", "docx", "csv", "txt", "broken_pdf", "hostile_docx", "hostile_png".
const char* AttachmentKindName(AttachmentKind kind);
bool ParseAttachmentKind(std::string_view name, AttachmentKind* kind);

// Signature over (attachment id, issue time, lifetime) with the server's secret: hex, 64 characters.
std::string SignAttachment(const std::string& secret, int64_t attachment_id, int64_t issued_unix,
                           int64_t lifetime_seconds);

}  // namespace deskpipe::emulator

namespace deskpipe::emulator {

// A complete attachment record (bytes generated, size set); `name` gets the kind's extension if it has none.
Result<Attachment> BuildAttachment(int64_t id, AttachmentKind kind, std::string name, std::string text,
                                   int64_t created_at);

}  // namespace deskpipe::emulator
