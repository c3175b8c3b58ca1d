#include "extract/test_files.h"

#include <leptonica/allheaders.h>
#include <zip.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

namespace deskpipe::extract::testing {
namespace {

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string PdfEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// Zips (name, content) entries in order, deflated, into memory.
std::string Zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (buffer == nullptr) throw std::runtime_error("zip_source_buffer_create");
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (archive == nullptr) throw std::runtime_error("zip_open_from_source");
  for (const auto& [name, content] : entries) {
    // libzip reads the data at close time, so each entry gets its own copy.
    void* copy = std::malloc(content.size() + 1);
    std::memcpy(copy, content.data(), content.size());
    zip_source_t* source = zip_source_buffer(archive, copy, content.size(), 1);
    if (zip_file_add(archive, name.c_str(), source, ZIP_FL_ENC_UTF_8) < 0)
      throw std::runtime_error("zip_file_add");
  }
  if (zip_close(archive) != 0) throw std::runtime_error("zip_close");
  zip_source_open(buffer);
  zip_source_seek(buffer, 0, SEEK_END);
  const zip_int64_t size = zip_source_tell(buffer);
  zip_source_seek(buffer, 0, SEEK_SET);
  std::string out(static_cast<size_t>(size), '\0');
  zip_source_read(buffer, out.data(), static_cast<zip_uint64_t>(size));
  zip_source_close(buffer);
  zip_source_free(buffer);
  return out;
}

const char* kContentTypesHead =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
    "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
    "<Default Extension=\"xml\" ContentType=\"application/xml\"/>";

std::string RootRels(const std::string& type, const std::string& target) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
         "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
         "<Relationship Id=\"rId1\" Type=\"" +
         type + "\" Target=\"" + target + "\"/></Relationships>";
}

constexpr const char* kOfficeDocumentRel =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";

std::string DocxBody(const std::vector<std::string>& paragraphs,
                     const std::vector<std::vector<std::string>>& table) {
  std::string body;
  for (const std::string& p : paragraphs) {
    body += "<w:p><w:r><w:t xml:space=\"preserve\">" + XmlEscape(p) + "</w:t></w:r></w:p>";
  }
  if (!table.empty()) {
    body += "<w:tbl>";
    for (const auto& row : table) {
      body += "<w:tr>";
      for (const std::string& cell : row) {
        body += "<w:tc><w:p><w:r><w:t>" + XmlEscape(cell) + "</w:t></w:r></w:p></w:tc>";
      }
      body += "</w:tr>";
    }
    body += "</w:tbl>";
  }
  return body;
}

std::string DocxPackage(const std::string& body) {
  const std::string document =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>" +
      body + "</w:body></w:document>";
  return Zip({{"[Content_Types].xml",
               std::string(kContentTypesHead) +
                   "<Override PartName=\"/word/document.xml\" ContentType=\"application/"
                   "vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>"},
              {"_rels/.rels", RootRels(kOfficeDocumentRel, "word/document.xml")},
              {"word/document.xml", document}});
}

}  // namespace

std::string MakePdf(const std::vector<std::vector<std::string>>& pages) {
  // Objects: 1 catalog, 2 pages, 3 font, then per page: page object and content stream.
  std::vector<std::string> objects;
  objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
  std::string kids;
  for (size_t i = 0; i < pages.size(); ++i) kids += std::to_string(4 + 2 * i) + " 0 R ";
  objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pages.size()) + " >>");
  objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  for (size_t i = 0; i < pages.size(); ++i) {
    objects.push_back(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
        "/Contents " +
        std::to_string(5 + 2 * i) + " 0 R >>");
    std::string stream = "BT /F1 14 Tf 72 720 Td 18 TL\n";
    for (const std::string& line : pages[i]) stream += "(" + PdfEscape(line) + ") Tj T*\n";
    stream += "ET\n";
    objects.push_back("<< /Length " + std::to_string(stream.size()) + " >>\nstream\n" + stream + "endstream");
  }
  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t offset : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", offset);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

std::string MakeTextPng(const std::vector<std::string>& lines) {
  L_BMF* font = bmfCreate(nullptr, 20);
  if (font == nullptr) throw std::runtime_error("bmfCreate");
  const int line_height = font->lineheight + 16;
  int width = 40;
  for (const std::string& line : lines) {
    l_int32 line_width = 0;
    bmfGetStringWidth(font, line.c_str(), &line_width);
    width = std::max(width, line_width + 80);
  }
  const int height = 40 + line_height * static_cast<int>(lines.size());
  PIX* pix = pixCreate(width, height, 8);
  pixSetAll(pix);  // white
  for (size_t i = 0; i < lines.size(); ++i) {
    l_int32 overflow = 0;
    pixSetTextline(pix, font, lines[i].c_str(), 0x00000000, 40,
                   20 + font->baselinetab[static_cast<int>('A')] + line_height * static_cast<int>(i), nullptr,
                   &overflow);
  }
  PIX* scaled = pixCopy(nullptr, pix);
  l_uint8* data = nullptr;
  size_t size = 0;
  pixWriteMemPng(&data, &size, scaled, 0);
  std::string out(reinterpret_cast<char*>(data), size);
  lept_free(data);
  pixDestroy(&scaled);
  pixDestroy(&pix);
  bmfDestroy(&font);
  return out;
}

std::string MakeBlankPng(int width, int height) {
  PIX* pix = pixCreate(width, height, 1);  // 1 bpp, all 0 = white
  if (pix == nullptr) throw std::runtime_error("pixCreate");
  l_uint8* data = nullptr;
  size_t size = 0;
  pixWriteMemPng(&data, &size, pix, 0);
  std::string out(reinterpret_cast<char*>(data), size);
  lept_free(data);
  pixDestroy(&pix);
  return out;
}

std::string MakeDocx(const std::vector<std::string>& paragraphs,
                     const std::vector<std::vector<std::string>>& table) {
  return DocxPackage(DocxBody(paragraphs, table));
}

std::string MakeZipBombDocx(int64_t inflated_bytes) {
  std::string padding(static_cast<size_t>(inflated_bytes), ' ');
  return DocxPackage("<w:p><w:r><w:t>bomb</w:t></w:r></w:p>" + padding);
}

std::string MakeXlsx(const std::string& sheet_name, const std::vector<std::vector<std::string>>& rows) {
  std::string shared =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">";
  std::string sheet =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>";
  int index = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    sheet += "<row r=\"" + std::to_string(r + 1) + "\">";
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const std::string ref = std::string(1, static_cast<char>('A' + c)) + std::to_string(r + 1);
      const std::string& value = rows[r][c];
      const bool number = !value.empty() && value.find_first_not_of("0123456789.") == std::string::npos;
      if (number) {
        sheet += "<c r=\"" + ref + "\"><v>" + value + "</v></c>";
      } else {
        shared += "<si><t>" + XmlEscape(value) + "</t></si>";
        sheet += "<c r=\"" + ref + "\" t=\"s\"><v>" + std::to_string(index++) + "</v></c>";
      }
    }
    sheet += "</row>";
  }
  shared += "</sst>";
  sheet += "</sheetData></worksheet>";
  const std::string workbook =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
      "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets>"
      "<sheet name=\"" +
      XmlEscape(sheet_name) + "\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
  const std::string workbook_rels =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
      "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
      "worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>";
  return Zip({{"[Content_Types].xml",
               std::string(kContentTypesHead) +
                   "<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/"
                   "vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/></Types>"},
              {"_rels/.rels", RootRels(kOfficeDocumentRel, "xl/workbook.xml")},
              {"xl/workbook.xml", workbook},
              {"xl/_rels/workbook.xml.rels", workbook_rels},
              {"xl/sharedStrings.xml", shared},
              {"xl/worksheets/sheet1.xml", sheet}});
}

std::string MakePptx(const std::vector<std::vector<std::string>>& slides) {
  std::vector<std::pair<std::string, std::string>> entries;
  entries.push_back(
      {"[Content_Types].xml",
       std::string(kContentTypesHead) +
           "<Override PartName=\"/ppt/presentation.xml\" ContentType=\"application/"
           "vnd.openxmlformats-officedocument.presentationml.presentation.main+xml\"/></Types>"});
  entries.push_back({"_rels/.rels", RootRels(kOfficeDocumentRel, "ppt/presentation.xml")});
  entries.push_back(
      {"ppt/presentation.xml",
       "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
       "<p:presentation xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\"/>"});
  // Named so that a text sort would misorder them (slide10 before slide2) when there are ten or more.
  for (size_t i = 0; i < slides.size(); ++i) {
    std::string xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
        "<p:sld xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" "
        "xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/"
        "main\"><p:cSld><p:spTree><p:sp><p:txBody>";
    for (const std::string& line : slides[i])
      xml += "<a:p><a:r><a:t>" + XmlEscape(line) + "</a:t></a:r></a:p>";
    xml += "</p:txBody></p:sp></p:spTree></p:cSld></p:sld>";
    entries.push_back({"ppt/slides/slide" + std::to_string(i + 1) + ".xml", xml});
  }
  return Zip(entries);
}

}  // namespace deskpipe::extract::testing
