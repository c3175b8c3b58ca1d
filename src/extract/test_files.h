// Builds real files of every supported type from known text, in process, for the extraction tests and the
// benchmark: PDFs written by hand (Helvetica, one text line per Tj), PNGs with text drawn by leptonica's
// bitmap font, DOCX/XLSX/PPTX packages zipped with libzip — plus hostile ones (truncated PDF, zip-bomb DOCX,
// a PNG of 20000×20000 pixels). No external tool is needed. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace deskpipe::extract::testing {

// A PDF with one page per entry; each page's lines are drawn top to bottom.
std::string MakePdf(const std::vector<std::vector<std::string>>& pages);
// A grey PNG with `lines` drawn in black, scaled so that tesseract reads them reliably.
std::string MakeTextPng(const std::vector<std::string>& lines);
// A 1-bit PNG of width × height white pixels (compresses to almost nothing).
std::string MakeBlankPng(int width, int height);
// Office Open XML packages.
std::string MakeDocx(const std::vector<std::string>& paragraphs,
                     const std::vector<std::vector<std::string>>& table = {});
std::string MakeXlsx(const std::string& sheet_name, const std::vector<std::vector<std::string>>& rows);
std::string MakePptx(const std::vector<std::vector<std::string>>& slides);
// A DOCX whose word/document.xml inflates to `inflated_bytes` (mostly spaces).
std::string MakeZipBombDocx(int64_t inflated_bytes);

}  // namespace deskpipe::extract::testing
