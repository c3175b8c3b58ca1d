#include "attachments.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include <xxhash.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace deskpipe::emulator {
namespace {

constexpr const char* kDefaultFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

// --- PDF ----------------------------------------------------------------------------------------------------

std::string PdfEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += (static_cast<unsigned char>(c) < 0x80) ? c : '?';  // Helvetica/WinAnsi: keep it ASCII
  }
  return out;
}

std::vector<std::string> WrapLines(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  size_t start = 0;
  while (start < text.size()) {
    size_t space = text.find(' ', start);
    if (space == std::string::npos) space = text.size();
    const std::string word = text.substr(start, space - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
    start = space + 1;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// A one-page PDF 1.4 with a Helvetica text layer; every xref offset is exact.
std::string MakePdf(const std::string& text) {
  std::string content = "BT /F1 12 Tf 72 740 Td 16 TL\n";
  for (const std::string& line : WrapLines(text, 80)) content += "(" + PdfEscape(line) + ") Tj T*\n";
  content += "ET\n";
  const std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
      "/Contents 5 0 R >>",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
      "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "endstream",
  };
  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t offset : offsets) {
    char entry[32];
    std::snprintf(entry, sizeof(entry), "%010zu 00000 n \n", offset);
    pdf += entry;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

// --- PNG (zlib only; text rasterised with FreeType) -------------------------------------------------------

void PutU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void PngChunk(std::string* png, const char* type, const std::string& data) {
  PutU32(png, static_cast<uint32_t>(data.size()));
  std::string body = std::string(type, 4) + data;
  png->append(body);
  PutU32(png, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                          static_cast<uInt>(body.size()))));
}

std::string PngHeader(uint32_t width, uint32_t height) {
  std::string ihdr;
  PutU32(&ihdr, width);
  PutU32(&ihdr, height);
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit greyscale, deflate, adaptive filter, no interlace
  std::string png = "\x89PNG\r\n\x1a\n";
  PngChunk(&png, "IHDR", ihdr);
  return png;
}

std::string Deflate(const std::string& raw) {
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string out(size, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
            static_cast<uLong>(raw.size()), 9);
  out.resize(size);
  return out;
}

std::string EncodeGreyPng(const std::vector<uint8_t>& pixels, uint32_t width, uint32_t height) {
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (width + 1));
  for (uint32_t y = 0; y < height; ++y) {
    raw.push_back('\0');  // filter: none
    raw.append(reinterpret_cast<const char*>(&pixels[static_cast<size_t>(y) * width]), width);
  }
  std::string png = PngHeader(width, height);
  PngChunk(&png, "IDAT", Deflate(raw));
  PngChunk(&png, "IEND", "");
  return png;
}

struct Font {
  std::mutex mu;
  FT_Library library = nullptr;
  FT_Face face = nullptr;
  std::string error;
  bool tried = false;
};

Font& SharedFont() {
  static Font* font = new Font();  // never destroyed: attachments may render during static teardown
  return *font;
}

// Dark text on white, 28 px DejaVu Sans, wrapped at ~48 characters a line, 24 px margins.
Result<std::string> MakePng(const std::string& text) {
  Font& font = SharedFont();
  std::lock_guard<std::mutex> lock(font.mu);
  if (!font.tried) {
    font.tried = true;
    const char* env = std::getenv("DESKPIPE_EMULATOR_FONT");
    const std::string path = env && *env ? env : kDefaultFont;
    if (FT_Init_FreeType(&font.library) != 0) {
      font.error = "FreeType could not be initialised";
    } else if (FT_New_Face(font.library, path.c_str(), 0, &font.face) != 0) {
      font.error = "cannot load the PNG font " + path + " (install fonts-dejavu-core or set DESKPIPE_EMULATOR_FONT)";
      font.face = nullptr;
    } else {
      FT_Set_Pixel_Sizes(font.face, 0, 28);
    }
  }
  if (font.face == nullptr) return Error(Unavailable(font.error));
  const std::vector<std::string> lines = WrapLines(text, 48);
  const int margin = 24, line_height = 40, baseline = 30;
  int width = 0;
  for (const auto& line : lines) {
    int advance = 0;
    for (unsigned char c : line) {
      if (FT_Load_Char(font.face, c < 0x80 ? c : '?', FT_LOAD_DEFAULT) == 0)
        advance += static_cast<int>(font.face->glyph->advance.x >> 6);
    }
    width = std::max(width, advance);
  }
  const uint32_t w = static_cast<uint32_t>(width + 2 * margin);
  const uint32_t h = static_cast<uint32_t>(static_cast<int>(std::max<size_t>(lines.size(), 1)) * line_height +
                                           2 * margin - (line_height - baseline) + 10);
  std::vector<uint8_t> pixels(static_cast<size_t>(w) * h, 255);
  for (size_t l = 0; l < lines.size(); ++l) {
    int pen_x = margin;
    const int pen_y = margin + baseline + static_cast<int>(l) * line_height;
    for (unsigned char c : lines[l]) {
      if (FT_Load_Char(font.face, c < 0x80 ? c : '?', FT_LOAD_RENDER) != 0) continue;
      const FT_GlyphSlot g = font.face->glyph;
      for (unsigned row = 0; row < g->bitmap.rows; ++row) {
        for (unsigned col = 0; col < g->bitmap.width; ++col) {
          const int x = pen_x + g->bitmap_left + static_cast<int>(col);
          const int y = pen_y - g->bitmap_top + static_cast<int>(row);
          if (x < 0 || y < 0 || x >= static_cast<int>(w) || y >= static_cast<int>(h)) continue;
          const uint8_t coverage = g->bitmap.buffer[row * static_cast<unsigned>(g->bitmap.pitch) + col];
          uint8_t& pixel = pixels[static_cast<size_t>(y) * w + static_cast<size_t>(x)];
          pixel = std::min<uint8_t>(pixel, static_cast<uint8_t>(255 - coverage));
        }
      }
      pen_x += static_cast<int>(g->advance.x >> 6);
    }
  }
  return EncodeGreyPng(pixels, w, h);
}

// A PNG whose header claims 60000×60000 pixels with a few rows of data: decoders that allocate from the header
// ask for 3.6 GB.
std::string MakeHostilePng() {
  constexpr uint32_t kSide = 60000;
  std::string raw;
  for (int row = 0; row < 4; ++row) {
    raw.push_back('\0');
    raw.append(kSide, '\xff');
  }
  std::string png = PngHeader(kSide, kSide);
  PngChunk(&png, "IDAT", Deflate(raw));
  PngChunk(&png, "IEND", "");
  return png;
}

// --- DOCX (libzip, in memory) -------------------------------------------------------------------------------

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

Result<std::string> ZipInMemory(const std::vector<std::pair<std::string, std::string>>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (source == nullptr) return Error(Internal("libzip: cannot create a memory source"));
  zip_t* archive = zip_open_from_source(source, ZIP_TRUNCATE, &error);
  if (archive == nullptr) {
    zip_source_free(source);
    return Error(Internal("libzip: cannot open a memory archive"));
  }
  zip_source_keep(source);
  for (const auto& [name, data] : entries) {
    zip_source_t* file = zip_source_buffer(archive, data.data(), data.size(), 0);
    const zip_int64_t index = file == nullptr ? -1 : zip_file_add(archive, name.c_str(), file, ZIP_FL_OVERWRITE);
    if (index >= 0) zip_file_set_mtime(archive, static_cast<zip_uint64_t>(index), 1704067200, 0);  // fixed: same bytes every run
    if (index < 0) {
      if (file) zip_source_free(file);
      zip_discard(archive);
      zip_source_free(source);
      return Error(Internal("libzip: cannot add " + name));
    }
  }
  if (zip_close(archive) < 0) {
    zip_discard(archive);
    zip_source_free(source);
    return Error(Internal("libzip: cannot write the archive"));
  }
  std::string out;
  zip_stat_t stat;
  if (zip_source_open(source) == 0) {
    if (zip_source_stat(source, &stat) == 0) {
      out.resize(stat.size);
      const zip_int64_t read = zip_source_read(source, out.data(), stat.size);
      out.resize(read < 0 ? 0 : static_cast<size_t>(read));
    }
    zip_source_close(source);
  }
  zip_source_free(source);
  if (out.empty()) return Error(Internal("libzip: empty archive"));
  return out;
}

std::vector<std::pair<std::string, std::string>> DocxEntries(const std::string& text) {
  return {
      {"[Content_Types].xml",
       "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
       "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
       "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
       "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
       "<Override PartName=\"/word/document.xml\" "
       "ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>"
       "</Types>"},
      {"_rels/.rels",
       "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
       "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
       "<Relationship Id=\"rId1\" "
       "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
       "Target=\"word/document.xml\"/></Relationships>"},
      {"word/document.xml",
       "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
       "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>"
       "<w:p><w:r><w:t xml:space=\"preserve\">" +
           XmlEscape(text) + "</w:t></w:r></w:p></w:body></w:document>"},
  };
}

}  // namespace

Result<std::string> MakeAttachmentBytes(AttachmentKind kind, const std::string& text) {
  switch (kind) {
    case AttachmentKind::kPdf:
      return MakePdf(text);
    case AttachmentKind::kBrokenPdf: {
      std::string pdf = MakePdf(text);
      return pdf.substr(0, pdf.find("xref"));  // cut before the cross-reference table and trailer
    }
    case AttachmentKind::kPng:
      return MakePng(text);
    case AttachmentKind::kHostilePng:
      return MakeHostilePng();
    case AttachmentKind::kDocx:
      return ZipInMemory(DocxEntries(text));
    case AttachmentKind::kHostileDocx: {
      auto entries = DocxEntries(text);
      entries.emplace_back("../../../../tmp/deskpipe-zip-slip.txt", "written outside the extraction directory");
      entries.emplace_back("word/media/bomb.bin", std::string(size_t{16} << 20, '\0'));  // 16 MiB → ~16 KiB
      return ZipInMemory(entries);
    }
    case AttachmentKind::kCsv: {
      std::string csv = "line,note\n";
      int n = 1;
      for (const std::string& line : WrapLines(text, 60)) {
        std::string quoted = "\"";
        for (char c : line) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        csv += std::to_string(n++) + "," + quoted + "\"\n";
      }
      return csv;
    }
    case AttachmentKind::kTxt:
      return text + "\n";
  }
  return Error(InvalidArgument("unknown attachment kind"));
}

const char* AttachmentContentType(AttachmentKind kind) {
  switch (kind) {
    case AttachmentKind::kPdf:
    case AttachmentKind::kBrokenPdf:
      return "application/pdf";
    case AttachmentKind::kPng:
    case AttachmentKind::kHostilePng:
      return "image/png";
    case AttachmentKind::kDocx:
    case AttachmentKind::kHostileDocx:
      return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    case AttachmentKind::kCsv:
      return "text/csv";
    case AttachmentKind::kTxt:
      return "text/plain";
  }
  return "application/octet-stream";
}

const char* AttachmentExtension(AttachmentKind kind) {
  switch (kind) {
    case AttachmentKind::kPdf:
    case AttachmentKind::kBrokenPdf:
      return "pdf";
    case AttachmentKind::kPng:
    case AttachmentKind::kHostilePng:
      return "png";
    case AttachmentKind::kDocx:
    case AttachmentKind::kHostileDocx:
      return "docx";
    case AttachmentKind::kCsv:
      return "csv";
    case AttachmentKind::kTxt:
      return "txt";
  }
  return "bin";
}

const char* AttachmentKindName(AttachmentKind kind) {
  switch (kind) {
    case AttachmentKind::kPdf: return "pdf";
    case AttachmentKind::kPng: return "png";
    case AttachmentKind::kDocx: return "docx";
    case AttachmentKind::kCsv: return "csv";
    case AttachmentKind::kTxt: return "txt";
    case AttachmentKind::kBrokenPdf: return "broken_pdf";
    case AttachmentKind::kHostileDocx: return "hostile_docx";
    case AttachmentKind::kHostilePng: return "hostile_png";
  }
  return "unknown";
}

bool ParseAttachmentKind(std::string_view name, AttachmentKind* kind) {
  for (AttachmentKind k : {AttachmentKind::kPdf, AttachmentKind::kPng, AttachmentKind::kDocx, AttachmentKind::kCsv,
                           AttachmentKind::kTxt, AttachmentKind::kBrokenPdf, AttachmentKind::kHostileDocx,
                           AttachmentKind::kHostilePng}) {
    if (name == AttachmentKindName(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

std::string SignAttachment(const std::string& secret, int64_t attachment_id, int64_t issued_unix,
                           int64_t lifetime_seconds) {
  const std::string message = secret + "|" + std::to_string(attachment_id) + "|" + std::to_string(issued_unix) +
                              "|" + std::to_string(lifetime_seconds);
  std::string hex;
  for (uint64_t seed : {0x5eedull, 0xfeedull}) {
    const XXH128_hash_t h = XXH3_128bits_withSeed(message.data(), message.size(), seed);
    char buffer[40];
    std::snprintf(buffer, sizeof(buffer), "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    hex += buffer;
  }
  return hex;
}

}  // namespace deskpipe::emulator

namespace deskpipe::emulator {

Result<Attachment> BuildAttachment(int64_t id, AttachmentKind kind, std::string name, std::string text,
                                   int64_t created_at) {
  Attachment a;
  a.id = id;
  a.kind = kind;
  const std::string extension = std::string(".") + AttachmentExtension(kind);
  if (name.size() < extension.size() || name.compare(name.size() - extension.size(), extension.size(), extension) != 0)
    name += extension;
  a.name = std::move(name);
  a.content_type = AttachmentContentType(kind);
  ASSIGN_OR_RETURN(std::string bytes, MakeAttachmentBytes(kind, text));
  a.bytes = std::make_shared<const std::string>(std::move(bytes));
  a.text = std::move(text);
  a.created_at = created_at;
  a.updated_at = created_at;
  return a;
}

}  // namespace deskpipe::emulator
