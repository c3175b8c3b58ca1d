// PDF text through poppler-cpp; image text through tesseract OCR (English) on a leptonica image whose size is
// checked from its header before a pixel is decoded.
#include <leptonica/allheaders.h>
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>
#include <tesseract/baseapi.h>

#include <memory>
#include <string>

#include "extract/parsers.h"

namespace deskpipe::extract {
namespace {

void IgnorePopplerMessage(const std::string&, void*) {}

// A complete PDF ends with "%%EOF" (then at most a line end and some padding). poppler rebuilds a damaged
// cross-reference table silently and would index half a file as if whole, so a missing end marker is refused.
bool HasEofMarker(std::string_view bytes) {
  const size_t tail = std::min<size_t>(bytes.size(), 2048);
  return bytes.substr(bytes.size() - tail).find("%%EOF") != std::string_view::npos;
}

}  // namespace

Result<std::string> ExtractPdf(std::string_view bytes, const ExtractLimits& limits) {
  poppler::set_debug_error_function(IgnorePopplerMessage, nullptr);
  if (bytes.substr(0, 1024).find("%PDF-") == std::string_view::npos) {
    return Error(InvalidRecord("PDF: no %PDF- header"));
  }
  if (!HasEofMarker(bytes)) return Error(InvalidRecord("PDF: truncated (no %%EOF marker at the end)"));
  std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!doc) return Error(InvalidRecord("PDF: damaged, poppler cannot open it"));
  if (doc->is_locked()) return Error(InvalidRecord("PDF: encrypted (password protected)"));
  const int pages = doc->pages();
  if (pages > limits.max_pdf_pages) {
    return Error(InvalidRecord("PDF: " + std::to_string(pages) + " pages; the limit is " +
                               std::to_string(limits.max_pdf_pages) + " (max_pdf_pages)"));
  }
  std::string out;
  for (int i = 0; i < pages; ++i) {
    std::unique_ptr<poppler::page> page(doc->create_page(i));
    if (!page) continue;
    poppler::byte_array utf8 = page->text().to_utf8();
    std::string text(utf8.begin(), utf8.end());
    // poppler separates pages with form feeds; keep one blank line between pages instead.
    for (char& c : text) {
      if (c == '\f') c = '\n';
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text.empty()) continue;
    if (!out.empty()) out.append("\n\n");
    out.append(text);
    if (static_cast<int64_t>(out.size()) > limits.max_text_bytes) break;
  }
  return out;
}

Result<std::string> ExtractImage(std::string_view bytes, const ExtractLimits& limits) {
  setMsgSeverity(L_SEVERITY_NONE);
  const auto* data = reinterpret_cast<const l_uint8*>(bytes.data());
  l_int32 format = 0, width = 0, height = 0, bps = 0, spp = 0, colormap = 0;
  if (pixReadHeaderMem(data, bytes.size(), &format, &width, &height, &bps, &spp, &colormap) != 0) {
    return Error(InvalidRecord("image: unreadable header (damaged or an unsupported format)"));
  }
  const int64_t pixels = static_cast<int64_t>(width) * static_cast<int64_t>(height);
  if (width <= 0 || height <= 0) return Error(InvalidRecord("image: header claims no pixels"));
  if (pixels > limits.max_image_pixels) {
    return Error(InvalidRecord("image: " + std::to_string(width) + "×" + std::to_string(height) + " = " +
                               std::to_string(pixels) + " pixels; the limit is " +
                               std::to_string(limits.max_image_pixels) + " (max_image_pixels)"));
  }
  std::unique_ptr<PIX, void (*)(PIX*)> pix(pixReadMem(data, bytes.size()), [](PIX* p) { pixDestroy(&p); });
  if (!pix)
    return Error(
        InvalidRecord("image: leptonica cannot decode it (damaged, or it needs more memory than "
                      "max_memory_bytes allows)"));
  // Tesseract reads 1, 8 or 32 bpp; others are converted first.
  const l_int32 depth = pixGetDepth(pix.get());
  if (depth != 1 && depth != 8 && depth != 32) {
    PIX* converted = pixConvertTo32(pix.get());
    if (converted == nullptr) return Error(InvalidRecord("image: cannot convert its pixel format"));
    pix.reset(converted);
  }

  tesseract::TessBaseAPI api;
  if (api.Init(nullptr, "eng", tesseract::OEM_DEFAULT) != 0) {
    return Error(InvalidRecord("image: tesseract cannot load its English data (install tesseract-ocr-eng)"));
  }
  api.SetPageSegMode(tesseract::PSM_AUTO);
  api.SetImage(pix.get());
  if (pixGetXRes(pix.get()) <= 0) api.SetSourceResolution(300);  // silence the "estimating resolution" guess
  std::unique_ptr<char[]> text(api.GetUTF8Text());
  api.End();
  if (!text) return Error(InvalidRecord("image: OCR failed"));
  std::string out(text.get());
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\f')) out.pop_back();
  return out;
}

}  // namespace deskpipe::extract
