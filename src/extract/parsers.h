// The in-process extractors behind extract.h: type sniffing (libmagic) and one reader per format. They parse
// untrusted bytes with large third-party parsers, so production code runs them only inside the
// deskpipe-extract-worker child (extract_worker_main.cc); tests and fuzz targets call them directly.
//
// Each reader enforces the limits it can check itself (pages, pixels, unpacked bytes, text size) and reports
// a refusal as InvalidRecord with a reason naming the file type and the limit. Time and memory are enforced
// by the worker's rlimits and the parent's timeout, not here.
//
// Thread-safety: SniffType and the readers may run on several threads (each call uses its own libmagic
// cookie, poppler document, tesseract instance). Lifetime: nothing is kept between calls.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "extract/extract.h"

namespace deskpipe::extract {

// The MIME type libmagic sniffs from the bytes ("application/pdf", "image/png", "text/plain", …), refined
// where libmagic is vague: a zip holding word/document.xml, xl/workbook.xml or ppt/presentation.xml is named
// as the Office type, and text that starts with RFC 822 headers as "message/rfc822". "application/x-empty"
// for no bytes. InvalidRecord when libmagic cannot be loaded.
Result<std::string> SniffType(std::string_view bytes);

// Reads the text of `bytes`, whose sniffed type is `type`. InvalidRecord: unsupported type, over a limit,
// damaged file. Text is valid UTF-8, at most limits.max_text_bytes (*truncated set when cut).
Result<std::string> ExtractText(std::string_view type, std::string_view bytes, const ExtractLimits& limits,
                                bool* truncated = nullptr);

// The readers, one per format. Exposed for tests and fuzzing.
Result<std::string> ExtractPdf(std::string_view bytes, const ExtractLimits& limits);
Result<std::string> ExtractImage(std::string_view bytes, const ExtractLimits& limits);
Result<std::string> ExtractDocx(std::string_view bytes, const ExtractLimits& limits);
Result<std::string> ExtractXlsx(std::string_view bytes, const ExtractLimits& limits);
Result<std::string> ExtractPptx(std::string_view bytes, const ExtractLimits& limits);
Result<std::string> ExtractEml(std::string_view bytes, const ExtractLimits& limits);
// Plain text / CSV: UTF-8 kept (invalid bytes repaired), UTF-16 with a BOM and ISO-8859-1 converted; text
// with NUL bytes or mostly control characters is refused as binary.
Result<std::string> ExtractPlainText(std::string_view bytes);

// Cuts `text` to at most max_bytes at a UTF-8 character boundary; true when it cut.
bool TruncateUtf8(std::string& text, int64_t max_bytes);

}  // namespace deskpipe::extract
